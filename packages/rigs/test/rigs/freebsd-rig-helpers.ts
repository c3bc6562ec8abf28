/**
 * Running a rig's FreeBSD path end to end against the runtime's FreeBSD host model: a harness context on a FreeBSD
 * host record whose runner is the model, the controller lock in a temporary folder (never this host's /run), and a
 * census of the model's kernel objects read from its state directly (not through the tools the rig uses).
 */
import { afterAll, beforeAll } from 'vitest';
import type { RigManifest } from '@coppice/results-schema';
import type { CommandRunner } from '@coppice/runtime';
import { ChildProcesses } from '../../src/harness/child-processes.ts';
import { Progress } from '../../src/harness/progress.ts';
import { HarnessContext } from '../../src/harness/rig-context-impl.ts';
import type { FreeBsdHost } from '../../../runtime/test/freebsd-host/index.ts';
import { jailState } from '../../../runtime/test/freebsd-host/jail.ts';
import { netState } from '../../../runtime/test/freebsd-host/netif.ts';
import { anchorPaths, pfKernel } from '../../../runtime/test/freebsd-host/pf-kernel.ts';
import { captureStream, fakeHost, repoRoot, tempDir } from '../harness/helpers.ts';

/** Points the rigs' controller lock and forwarding record at a temporary folder for this test file. */
export function useTemporaryLockDir(): void {
  let before: string | undefined;
  beforeAll(() => {
    before = process.env.COPPICE_NET_LOCK_DIR;
    process.env.COPPICE_NET_LOCK_DIR = tempDir('fbsd-lock');
  });
  afterAll(() => {
    if (before === undefined) delete process.env.COPPICE_NET_LOCK_DIR;
    else process.env.COPPICE_NET_LOCK_DIR = before;
  });
}

export function freebsdContext(runner: CommandRunner, manifest: RigManifest): HarnessContext {
  return new HarnessContext({
    manifest,
    quick: true,
    runner,
    host: { ...fakeHost, platform: 'freebsd', backend: { hypervisor: 'bhyve', firewall: 'pf' } },
    progress: new Progress(captureStream(), { mode: 'plain' }),
    children: new ChildProcesses(),
    signal: new AbortController().signal,
    tmpdir: tempDir(`fbsd-${manifest.id}`),
    repoRoot,
  });
}

/** Every kernel object of a cubenet prefix the model holds: interfaces, jails, pf anchors/tables, main-ruleset rules, states. */
export function modelObjects(host: FreeBsdHost, prefix: string) {
  const pf = pfKernel(host);
  const group = `${prefix}_ep`;
  const ifaces = [...netState(host).interfaces.values()].filter((i) => i.name.startsWith(`${prefix}-`) || i.groups.has(group)).map((i) => i.name);
  const anchors = anchorPaths(pf).filter((p) => p.startsWith('cube'));
  const tables = [...pf.rulesets.entries()].filter(([path]) => path !== '').flatMap(([path, rs]) => [...rs.tables.keys()].map((t) => `${path}:${t}`));
  return {
    ifaces,
    jails: [...jailState(host).jails.keys()].filter((j) => j.startsWith(`${prefix}-`)),
    anchors,
    tables,
    mainRules: pf.rulesets.get('')!.filter.length,
    states: pf.states.length,
  };
}

export const NOTHING = { ifaces: [], jails: [], anchors: [], tables: [], mainRules: 0, states: 0 };
