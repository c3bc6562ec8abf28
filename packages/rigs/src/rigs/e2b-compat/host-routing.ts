/** port-routing checks: a server started in the sandbox, reached by the host name sandbox.getHost(port) returns. */
import type { Sandbox } from 'e2b';
import type { RigContext } from '../../harness/rig-context.ts';
import { type CheckRecorder, eventually, expectThat } from './checks.ts';
import { requestByHost } from './sandbox-http.ts';

const PORT = 8000;

export async function hostRoutingChecks(
  ctx: RigContext,
  checks: CheckRecorder,
  s: Sandbox,
  gatewayUrl: string,
): Promise<void> {
  const marker = 'served from inside the sandbox';
  let host = '';
  let serverPid: number | undefined;
  await checks.run('port-routing', 'getHost (Host header)', async () => {
    await s.files.write('/home/user/site/index.html', `${marker}\n`);
    serverPid = (
      await s.commands.run(`python3 -m http.server ${PORT} --directory /home/user/site`, { background: true })
    ).pid;
    host = s.getHost(PORT);
    const page = await eventually(
      async () => {
        const r = await requestByHost(gatewayUrl, host, '/');
        return r.status === 200 ? r : undefined;
      },
      20_000,
      `no 200 from ${host}`,
    );
    expectThat(page.body.toString().trim() === marker, 'the page the sandbox serves', page.body.toString());
    return `GET http://${host}/ (Host header to ${gatewayUrl}) -> 200 "${marker}"`;
  });
  await checks.run('port-routing', 'getHost (curl resolves the name)', async () => {
    if (serverPid === undefined) throw new Error('not run: the server did not start');
    // curl resolves *.localhost to loopback itself: the URL is used as getHost gives it, no Host header set by hand.
    const r = await ctx.runner.run(['curl', '-sS', '--max-time', '20', `http://${host}/`], { timeoutMs: 30_000 });
    expectThat(r.code === 0 && r.stdout.trim() === marker, 'the page through curl', {
      code: r.code,
      stdout: r.stdout,
      stderr: r.stderr,
    });
    return `curl http://${host}/ -> "${marker}"`;
  });
  await checks.run('port-routing', 'closed port and unknown sandbox', async () => {
    const closed = await requestByHost(gatewayUrl, s.getHost(PORT + 1), '/');
    const unknown = await requestByHost(gatewayUrl, s.getHost(PORT).replace(s.sandboxId, 'i0000000000000000000'), '/');
    expectThat(
      closed.status >= 500 && unknown.status === 404,
      'a 5xx for a port nothing listens on and 404 for an unknown sandbox',
      { closed: closed.status, unknown: unknown.status },
    );
    return `port ${PORT + 1} (nothing listening) -> ${closed.status}; unknown sandbox id -> ${unknown.status}`;
  });
  if (serverPid !== undefined) await s.commands.kill(serverPid).catch(() => false);
}
