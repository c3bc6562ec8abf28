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
  let page;
  for (let i = 0; i < 50; i++) {
    page = await get(host).catch(() => undefined);
    if (page?.status === 200) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  console.log(`GET http://${host}/ ->`, page?.status, page?.body.trim());
  if (page?.status !== 200 || !page.body.includes('Coppice sandbox')) process.exitCode = 1;
} finally {
  await sandbox.kill();
}
