import { createServer, type Server } from 'node:net';
import { open } from 'node:fs/promises';
import { HypervisorError } from '../hypervisor.ts';

/**
 * Receives one outgoing migration stream on a unix socket and writes it to a file (temp name, fsync, rename), so
 * QEMU 7.2 (no `file:` URI) can checkpoint to a file without a shell (`exec:` would run one).
 */
export async function listenForMigration(socketPath: string, filePath: string): Promise<{ done: Promise<number>; close(): void }> {
  const tmp = `${filePath}.partial`;
  const handle = await open(tmp, 'w', 0o600);
  let server: Server;
  const done = new Promise<number>((resolve, reject) => {
    server = createServer({ allowHalfOpen: false }, (conn) => {
      server.close();
      let bytes = 0;
      let writing = Promise.resolve();
      conn.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        conn.pause();
        writing = writing.then(async () => {
          await handle.write(chunk);
          conn.resume();
        });
      });
      conn.on('end', () => {
        writing
          .then(async () => {
            await handle.sync();
            await handle.close();
            const { rename } = await import('node:fs/promises');
            await rename(tmp, filePath);
            resolve(bytes);
          })
          .catch(reject);
      });
      conn.on('error', (e) => reject(new HypervisorError(`migration stream: ${e.message}`)));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server!.once('error', reject);
    server!.listen(socketPath, () => resolve());
  });
  return {
    done,
    close: () => {
      server.close();
      void handle.close().catch(() => undefined);
      void import('node:fs/promises').then((fs) => fs.rm(tmp, { force: true }));
    },
  };
}
