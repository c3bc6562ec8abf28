import type { BhyveSystem, Monitor, MonitorSignal } from '../../src/hypervisor/bhyve/system.ts';
import { HypervisorError } from '../../src/hypervisor/hypervisor.ts';
import { consoleAnswers, vmmState } from './bhyve.ts';
import { files, type ModelFile } from './fs.ts';
import type { FreeBsdHost } from './host.ts';
import { processTable, signalProcess, spawn } from './processes.ts';

/**
 * The bhyve backend's OS seam played by the host model: bhyve runs as a model process (its argv checked like
 * bhyve(8) checks it), signals act on it, the console answers while the VM runs and is not stopped, files live in
 * the model's file system. Directories are entries ending in "/".
 */
export class ModelBhyveSystem implements BhyveSystem {
  /** Probe round trip the model reports, ms. */
  probeMs = 0.5;
  private readonly syncedData = new WeakSet<ModelFile>();
  private readonly durableNames = new Map<string, ModelFile>();

  constructor(readonly host: FreeBsdHost) {}

  get runner() {
    return this.host;
  }

  async spawn(argv: readonly string[]): Promise<Monitor> {
    const proc = spawn(this.host, argv);
    return { pid: proc.pid, exited: proc.exited, stderr: () => proc.stderr };
  }

  async signal(pid: number, signal: MonitorSignal): Promise<boolean> {
    return signalProcess(this.host, pid, signal);
  }

  async startTime(pid: number): Promise<string | undefined> {
    const p = processTable(this.host).processes.get(pid);
    return p && p.state !== 'exited' ? `start-${pid}` : undefined;
  }

  async rssBytes(pid: number): Promise<number> {
    const vm = [...vmmState(this.host).vms.values()].find((v) => v.pid === pid);
    return vm ? vm.memMiB * 1024 * 1024 : 0;
  }

  async vmExists(name: string): Promise<boolean> {
    return vmmState(this.host).vms.has(name);
  }

  async probe(consoleDevice: string, timeoutMs: number): Promise<number> {
    const bhyveSide = consoleDevice.replace(/B$/, 'A');
    if (!consoleAnswers(this.host, bhyveSide))
      throw new HypervisorError(`no answer on ${consoleDevice} within ${timeoutMs} ms`);
    return this.probeMs;
  }

  async fileSize(path: string): Promise<number | undefined> {
    return files(this.host).get(path)?.size;
  }

  async readText(path: string): Promise<string | undefined> {
    return files(this.host).get(path)?.content;
  }

  async writeText(path: string, text: string): Promise<void> {
    files(this.host).set(path, { content: text, size: Buffer.byteLength(text) });
  }

  async remove(path: string): Promise<void> {
    const fs = files(this.host);
    fs.delete(path);
    const dir = path.endsWith('/') ? path : `${path}/`;
    for (const key of [...fs.keys()]) if (key.startsWith(dir)) fs.delete(key);
  }

  async listDir(path: string): Promise<string[]> {
    const dir = path.endsWith('/') ? path : `${path}/`;
    const names = new Set<string>();
    for (const key of files(this.host).keys()) {
      if (!key.startsWith(dir) || key === dir) continue;
      names.add(key.slice(dir.length).split('/')[0]!);
    }
    return [...names];
  }

  async copyFile(from: string, to: string): Promise<void> {
    const f = files(this.host).get(from);
    if (!f) throw new Error(`ENOENT: ${from}`);
    files(this.host).set(to, { ...f });
  }

  async link(from: string, to: string): Promise<void> {
    const f = files(this.host).get(from);
    if (!f) throw new Error(`ENOENT: ${from}`);
    if (files(this.host).has(to)) throw new Error(`EEXIST: ${to}`);
    // The same object under two names: one vnode.
    files(this.host).set(to, f);
  }

  /** fsync(2): the data of the file object (shared by its hard links; a later write makes a new, unsynced object). */
  async syncFile(path: string): Promise<void> {
    const f = files(this.host).get(path);
    if (!f || path.endsWith('/')) throw new Error(`ENOENT: ${path}`);
    this.syncedData.add(f);
  }

  /** fsync(2) of a folder: the names in it, as they are now, survive a power loss. */
  async syncDir(path: string): Promise<void> {
    const dir = path.endsWith('/') ? path : `${path}/`;
    const inside = [...files(this.host).entries()].filter(([key]) => key.startsWith(dir) && key !== dir);
    if (!inside.length && !files(this.host).has(dir)) throw new Error(`ENOENT: ${path}`);
    for (const [key, f] of inside) if (!key.slice(dir.length).includes('/')) this.durableNames.set(key, f);
  }

  /** Whether `path` would survive a power loss: its data and its name were fsync'd after it was last written. */
  durable(path: string): boolean {
    const f = files(this.host).get(path);
    return f !== undefined && this.syncedData.has(f) && this.durableNames.get(path) === f;
  }

  async mkdir(path: string): Promise<void> {
    files(this.host).set(path.endsWith('/') ? path : `${path}/`, { content: '', size: 0 });
  }
}
