import { type FSWatcher, watch } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { EventType } from '../gen/filesystem/filesystem_pb.ts';

export interface DirChange {
  /** Path relative to the watched directory. */
  name: string;
  type: EventType;
  /** Absolute path, for callers that describe the entry. */
  path: string;
}

/**
 * inotify watch of a directory, optionally of its whole tree. Node 18 (the guest's) has no recursive fs.watch on
 * Linux, so each directory gets its own watch and directories created later are added as they appear.
 *
 * fs.watch reports only "rename" and "change"; the kind is recovered from the filesystem afterwards:
 * rename + present = CREATE, rename + absent = REMOVE (a move out of the tree reads as REMOVE too),
 * change with mtime == ctime = WRITE (a write bumps both), change with ctime past mtime = CHMOD.
 */
export class DirWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private closed = false;

  constructor(
    private readonly root: string,
    private readonly recursive: boolean,
    private readonly onChange: (change: DirChange) => void,
    private readonly onFailure: (error: Error) => void,
  ) {}

  async start(): Promise<void> {
    this.add(this.root);
    if (this.recursive) await this.addTree(this.root);
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private add(dir: string): void {
    if (this.closed || this.watchers.has(dir)) return;
    const watcher = watch(dir, { persistent: false }, (kind, filename) => {
      if (filename) void this.classify(dir, kind, filename.toString());
    });
    watcher.on('error', (error) => {
      watcher.close();
      this.watchers.delete(dir);
      if (dir === this.root) this.onFailure(error);
    });
    this.watchers.set(dir, watcher);
  }

  private async addTree(dir: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const sub = join(dir, entry.name);
      this.add(sub);
      await this.addTree(sub);
    }
  }

  private async classify(dir: string, kind: string, filename: string): Promise<void> {
    const path = join(dir, filename);
    const name = relative(this.root, path);
    const st = await lstat(path).catch(() => undefined);
    if (this.closed) return;
    let type: EventType;
    if (kind === 'rename') {
      type = st ? EventType.CREATE : EventType.REMOVE;
      if (!st) {
        this.watchers.get(path)?.close();
        this.watchers.delete(path);
      }
    } else {
      type = st && st.ctimeMs > st.mtimeMs ? EventType.CHMOD : EventType.WRITE;
    }
    this.onChange({ name, type, path });
    if (type === EventType.CREATE && this.recursive && st?.isDirectory()) {
      this.add(path);
      await this.addTree(path);
    }
  }
}
