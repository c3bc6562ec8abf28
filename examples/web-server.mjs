// Starts a web server inside the sandbox and reaches it by the host name sandbox.getHost(port) gives.
// `<port>-<id>.localhost` resolves to loopback in curl and browsers; Node's resolver does not, so this sends the
// host name in the Host header to the gateway's own address.
import { request } from 'node:http';
import { Sandbox } from 'e2b';

function get(host) {
  const gateway = new URL(process.env.E2B_SANDBOX_URL ?? process.env.E2B_API_URL);
  return new Promise((resolve, reject) => {
    const req = request({ host: gateway.hostname, port: gateway.port, path: '/', headers: { host } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const sandbox = await Sandbox.create();
try {
  await sandbox.files.write('/home/user/site/index.html', '<h1>served from a Coppice sandbox</h1>\n');
  await sandbox.commands.run('python3 -m http.server 8000 --directory /home/user/site', { background: true });
  const host = sandbox.getHost(8000);
  // Python's start-up takes seconds in a fresh sandbox under TCG: poll until the server answers.
  let page;
  let lastError;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    page = await get(host).catch((e) => {
      lastError = e;
      return undefined;
    });
    if (page?.status === 200) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  console.log(`GET http://${host}/ ->`, page?.status ?? lastError?.message, page?.body.trim());
  if (page?.status !== 200 || !page.body.includes('Coppice sandbox')) process.exitCode = 1;
} finally {
  await sandbox.kill();
}
