import { slug } from '@coppice/results-schema';

export interface HostIdInput {
  platform: string;
  cpu: { model: string; threads: number };
  memoryBytes: number;
}

const GiB = 1024 ** 3;

/** Marketing words that make CPU model strings long without telling machines apart. */
const noise = /\((r|tm|c)\)|\b(cpu|processor|with|radeon graphics|\d+-core)\b|@\s*[\d.]+\s*[gm]hz/gi;

/** "AMD EPYC 9B14 96-Core Processor" → "amd-epyc-9b14"; "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz" → "intel-xeon-e5-2680-v4". */
export function cpuSlug(model: string): string {
  const s = model
    .replace(noise, ' ')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
  return s || 'unknown-cpu';
}

/**
 * The host id results are filed under: COPPICE_HOST_ID when set (validated as a slug), otherwise a stable, readable
 * id from platform, CPU model, logical CPUs and memory (rounded to GiB), e.g. "linux-amd-epyc-9b14-2c-24g". The
 * hostname is never used: it says nothing about the machine and is often random in CI.
 */
export function deriveHostId(host: HostIdInput, env: Record<string, string | undefined> = process.env): string {
  const override = env.COPPICE_HOST_ID;
  if (override !== undefined && override !== '') {
    const parsed = slug.safeParse(override);
    if (!parsed.success) {
      throw new Error(`COPPICE_HOST_ID "${override}" ${parsed.error.issues[0]?.message ?? 'is not a valid host id'}`);
    }
    return override;
  }
  const gib = Math.max(1, Math.round(host.memoryBytes / GiB));
  return `${host.platform}-${cpuSlug(host.cpu.model)}-${host.cpu.threads}c-${gib}g`;
}
