import { randomUUID } from 'node:crypto';
import type { DirWatcher } from './dir-watcher.ts';

/** Events a polled watcher keeps between GetWatcherEvents calls; past it the oldest are dropped and counted. */
export const MAX_BUFFERED_EVENTS = 10_000;

export interface PolledWatcher<E> {
  watcher: DirWatcher;
  events: E[];
  dropped: number;
}

/** Watchers made by CreateWatcher, polled with GetWatcherEvents and ended by RemoveWatcher. */
export class WatcherRegistry<E> {
  private readonly byId = new Map<string, PolledWatcher<E>>();

  add(watcher: DirWatcher): { id: string; entry: PolledWatcher<E> } {
    const id = randomUUID();
    const entry: PolledWatcher<E> = { watcher, events: [], dropped: 0 };
    this.byId.set(id, entry);
    return { id, entry };
  }

  push(entry: PolledWatcher<E>, event: E): void {
    entry.events.push(event);
    if (entry.events.length > MAX_BUFFERED_EVENTS) {
      entry.events.shift();
      entry.dropped += 1;
    }
  }

  get(id: string): PolledWatcher<E> | undefined {
    return this.byId.get(id);
  }

  remove(id: string): boolean {
    const entry = this.byId.get(id);
    if (!entry) return false;
    entry.watcher.close();
    this.byId.delete(id);
    return true;
  }

  closeAll(): void {
    for (const id of [...this.byId.keys()]) this.remove(id);
  }
}
