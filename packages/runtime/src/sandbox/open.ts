/**
 * Opens a SandboxHost on this machine as an operator runs it: the platform's hypervisor, a cubenet of its own
 * (prefix, subnets, state) initialised for the sandboxes' endpoints, and the Debian templates built by
 * packages/runtime/guest/build-template.sh. Linux only: no FreeBSD guest templates are built by this repository.
 */
import { mkdir, rmdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type CommandRunner, ProcessRunner } from '../host/command-runner.ts';
import { locateTemplate, type TemplateName, templateImage } from '../hypervisor/qemu/guest-image.ts';
import { QemuHypervisor } from '../hypervisor/qemu/qemu.ts';
import type { Cubenet } from '../net/cubenet.ts';
import { hostPlatform, openCubenet } from '../net/open.ts';
import type { NetConfig } from '../net/types.ts';
import type { PoolMode } from '../pool/config.ts';
import { SandboxHost, type SandboxTemplate } from './sandbox-host.ts';

export interface TemplateSizing {
  id: TemplateName;
  aliases: string[];
  memoryMiB: number;
  vcpus: number;
  pool: { mode: PoolMode; hot: number; durable: number; refillConcurrency: number };
}

/** E2B's two template names, sized for a small host: 1 vCPU each, a hot and a durable entry each, ready to hand out. */
export const DEFAULT_TEMPLATES: readonly TemplateSizing[] = [
  {
    id: 'base',
    aliases: [],
    memoryMiB: 256,
    vcpus: 1,
    pool: { mode: 'two-tier', hot: 1, durable: 1, refillConcurrency: 1 },
  },
  {
    id: 'code-interpreter-v1',
    aliases: ['code-interpreter'],
    memoryMiB: 512,
    vcpus: 1,
    pool: { mode: 'two-tier', hot: 1, durable: 1, refillConcurrency: 1 },
  },
];

/** The free space each sandbox's root file system has (the image is built with 1.5 GiB free; see guest/README.md). */
const WRITABLE_MIB = 1536;

/**
 * TCG translation cache of a sandbox that runs code, MiB. Smaller saves host memory per busy sandbox but thrashes:
 * on a code-interpreter clone at 4 MiB a checkout took 8.7 s and evaluating `x` 8 s; at 32 MiB, 1.3 s and 0.6 s.
 * (The density rig's idle busybox clones use 4.)
 */
export const DEFAULT_SANDBOX_TB_SIZE_MIB = 32;

export interface OpenSandboxHostOptions {
  runner?: CommandRunner;
  /** Pools' state and checkpoints, and cubenet's state (`<stateDir>/net`). */
  stateDir?: string;
  /** VM run folders (sockets, logs, disk layers): tmpfs. */
  runRoot?: string;
  /** cubenet's prefix, subnets and lock folder (default: prefix `cps`, 10.79.0.0/24 and fd79::/64). */
  net?: Partial<NetConfig>;
  templates?: readonly TemplateSizing[];
  /**
   * Template checkpoints shared by every host of the same template build (default /var/cache/coppice/checkpoints):
   * a template is booted once per build, not once per state folder.
   */
  templateCache?: string;
  /**
   * tmpfs folder for template and checkpoint memory files (default `/dev/shm/coppice-<net prefix>`). Pools name these
   * files after their template only and remove the ones they do not reference on start, so two hosts sharing one
   * folder would overwrite and delete each other's guest memory.
   */
  shmDir?: string;
  /**
   * TCG translation cache per sandbox, MiB (default DEFAULT_SANDBOX_TB_SIZE_MIB).
   */
  tbSizeMiB?: number;
  /** TCG translation cache of a template's boot, MiB: see QemuOptions.bootTbSizeMiB. */
  bootTbSizeMiB?: number;
  onBackgroundError?: (e: Error) => void;
}

export interface OpenedSandboxHost {
  host: SandboxHost;
  net: Cubenet;
  /** Closes the host and cubenet, leaving sandboxes running for the next start to adopt. */
  close(): Promise<void>;
  /** Removes every sandbox, pool and the cubenet (rigs and tests). */
  destroy(): Promise<void>;
}

export async function openSandboxHost(o: OpenSandboxHostOptions = {}): Promise<OpenedSandboxHost> {
  if (hostPlatform() !== 'linux') throw new Error('sandbox templates are built for the Linux (QEMU) backend only');
  const runner = o.runner ?? new ProcessRunner();
  const stateDir = o.stateDir ?? '/var/lib/coppice/sandboxes';
  const runRoot = o.runRoot ?? '/run/coppice/sandboxes';
  const sizing = o.templates ?? DEFAULT_TEMPLATES;
  const templates: SandboxTemplate[] = [];
  for (const t of sizing) {
    const dir = await locateTemplate(runner, t.id);
    // The image is named after its build (NAME-HASH): a pool finds a template checkpoint of an older build stale.
    templates.push({
      id: t.id,
      aliases: t.aliases,
      image: templateImage(dir, basename(dir), t.memoryMiB, t.vcpus),
      diskMiB: WRITABLE_MIB,
      pool: t.pool,
    });
  }
  const netConfig = {
    prefix: 'cps',
    ipv4Subnet: '10.79.0.0/24',
    ipv6Subnet: 'fd79::/64',
    stateDir: join(stateDir, 'net'),
    ...o.net,
  };
  const shmDir = o.shmDir ?? join('/dev/shm', `coppice-${netConfig.prefix}`);
  await mkdir(shmDir, { recursive: true, mode: 0o700 });
  const hypervisor = new QemuHypervisor({
    runner,
    tbSizeMiB: o.tbSizeMiB ?? DEFAULT_SANDBOX_TB_SIZE_MIB,
    ...(o.bootTbSizeMiB ? { bootTbSizeMiB: o.bootTbSizeMiB } : {}),
    shmDir,
  });
  const net = await openCubenet({
    runner,
    config: netConfig,
    ...(o.onBackgroundError ? { onBackgroundError: o.onBackgroundError } : {}),
  });
  let host: SandboxHost;
  try {
    await net.init();
    host = await SandboxHost.open({
      templates,
      hypervisor,
      net,
      stateDir,
      runRoot,
      templateCache: o.templateCache ?? '/var/cache/coppice/checkpoints',
      ...(o.onBackgroundError ? { onBackgroundError: o.onBackgroundError } : {}),
    });
  } catch (e) {
    await net.close();
    throw e;
  }
  return {
    host,
    net,
    async close() {
      await host.close();
      await net.close();
    },
    async destroy() {
      await host.destroyAll();
      await host.close();
      await net.teardown();
      await net.close();
      // Only when empty (never recursive: shmDir may be a shared folder such as /dev/shm itself).
      if (o.shmDir === undefined) await rmdir(shmDir).catch(() => undefined);
    },
  };
}
