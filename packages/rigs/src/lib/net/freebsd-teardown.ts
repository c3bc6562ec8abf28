/** Idempotent removal of the FreeBSD objects a rig makes beside cubenet: each is a no-op when the object is gone. */
import { runChecked, type CommandRunner } from '@coppice/runtime';

/** Removes a jail if it runs (its vnet interfaces return to the host). */
export async function removeJail(runner: CommandRunner, jail: string): Promise<void> {
  const listed = await runChecked(runner, ['jls', 'name']);
  if (!listed.stdout.split('\n').includes(jail)) return; // not running
  await runChecked(runner, ['jail', '-r', jail]);
}

/** Destroys an interface if it exists (an epair goes with either end). */
export async function destroyInterface(runner: CommandRunner, name: string): Promise<void> {
  const shown = await runner.run(['ifconfig', name]);
  if (shown.code !== 0) return; // already gone
  await runChecked(runner, ['ifconfig', name, 'destroy']);
}
