/** Idempotent removal of the Linux objects a rig makes beside cubenet: each is a no-op when the object is gone. */
import { runChecked, type CommandRunner } from '@coppice/runtime';

/** Deletes a network namespace if it exists. */
export async function removeNamespace(runner: CommandRunner, ns: string): Promise<void> {
  const list = await runChecked(runner, ['ip', 'netns', 'list']);
  if (!list.stdout.split('\n').some((l) => l.split(' ')[0] === ns)) return;
  await runChecked(runner, ['ip', 'netns', 'del', ns]);
}

/** Deletes a link if it exists (deleting one end of a veth destroys the pair). */
export async function removeLink(runner: CommandRunner, name: string): Promise<void> {
  const show = await runner.run(['ip', 'link', 'show', 'dev', name]);
  if (show.code !== 0) return; // already gone (or never made)
  await runChecked(runner, ['ip', 'link', 'del', name]);
}
