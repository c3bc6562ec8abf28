import { createServer, type Server, type Socket } from 'node:net';

/** A QMP peer speaking the protocol's framing: greeting, then one JSON reply per command, events in between. */
export function fakeQemu(
  path: string,
  handle: (cmd: { execute: string; arguments?: unknown }, sock: Socket) => void,
): Promise<Server> {
  const server = createServer((sock) => {
    sock.write(
      JSON.stringify({ QMP: { version: { qemu: { major: 7, minor: 2, micro: 22 } }, capabilities: [] } }) + '\r\n',
    );
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        handle(JSON.parse(line), sock);
      }
    });
  });
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}
