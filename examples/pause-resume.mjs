// Pauses a sandbox (memory and files to disk, its VM freed) and resumes it with its files and processes intact.
import { Sandbox } from 'e2b';

const sandbox = await Sandbox.create();
try {
  await sandbox.files.write('/home/user/state.txt', 'kept across pause\n');
  const sleeper = await sandbox.commands.run('sleep 600', { background: true });
  await sandbox.pause();
  console.log('paused:', (await Sandbox.getInfo(sandbox.sandboxId)).state);

  const resumed = await Sandbox.connect(sandbox.sandboxId);
  const text = await resumed.files.read('/home/user/state.txt');
  const alive = await resumed.commands.run(`kill -0 ${sleeper.pid} && echo alive`);
  console.log('after resume:', JSON.stringify(text), alive.stdout.trim());
  if (text !== 'kept across pause\n' || alive.stdout.trim() !== 'alive') process.exitCode = 1;
} finally {
  await Sandbox.kill(sandbox.sandboxId);
}
