import { HypervisorError } from '../hypervisor.ts';
import type { QmpClient } from './qmp.ts';

interface MigrateInfo {
  status?: string;
  'error-desc'?: string;
}

/**
 * Waits until the migration ends. Driven by QEMU's MIGRATION events (enabled with the "events" capability), with
 * `query-migrate` as the authority: a slow timer re-checks in case an event was missed, never a busy loop.
 */
export async function awaitMigration(qmp: QmpClient, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await qmp.execute<MigrateInfo>('query-migrate');
    const status = info.status ?? 'none';
    if (status === 'completed') return;
    if (status === 'failed' || status === 'cancelled') {
      throw new HypervisorError(`migration ${status}${info['error-desc'] ? `: ${info['error-desc']}` : ''}`);
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new HypervisorError(`migration did not finish within ${timeoutMs} ms (status ${status})`);
    await qmp
      .waitEvent(
        'MIGRATION',
        (d) => ['completed', 'failed', 'cancelled'].includes(String(d.status)),
        Math.min(left, 250),
      )
      .catch(() => undefined);
  }
}

export async function setCapabilities(qmp: QmpClient, caps: Record<string, boolean>): Promise<void> {
  await qmp.execute('migrate-set-capabilities', {
    capabilities: Object.entries(caps).map(([capability, state]) => ({ capability, state })),
  });
}
