// Writes, lists and reads files in a sandbox, and runs a command that sees them.
import { Sandbox } from 'e2b';

const sandbox = await Sandbox.create();
try {
  await sandbox.files.write('/home/user/notes/hello.txt', 'hello from the host\n');
  const entries = await sandbox.files.list('/home/user/notes');
  console.log('listed:', entries.map((e) => e.name).join(', '));
  const text = await sandbox.files.read('/home/user/notes/hello.txt');
  const run = await sandbox.commands.run('wc -c < /home/user/notes/hello.txt');
  console.log('read back:', JSON.stringify(text), 'bytes by wc:', run.stdout.trim());
  if (text !== 'hello from the host\n' || run.stdout.trim() !== '20') process.exitCode = 1;
} finally {
  await sandbox.kill();
}
