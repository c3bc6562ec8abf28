import { createServer, type Server } from 'node:net';
import { createFileAtomic } from '../../host/durable-files.ts';
import { HypervisorError } from '../hypervisor.ts';

/**
 * Receives one outgoing migration stream on a unix socket and writes it to a file durably (host/durable-files.ts
 * createFileAtomic: temp name, fsync, rename, folder fsync), so QEMU 7.2 (no `file:` URI) can checkpoint to a file
 * without a shell (`exec:` would run one).
 */
export async function listenForMigration(
  socketPath: string,
  filePath: string,
): Promise<{ done: Promise<number>; close(): void }> {
  const file = await createFileAtomic(filePath);
  const handle = file.handle;
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
            await file.commit();
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
      void file.abort();
    },
  };
}
