import { startedAtStamp, type LoadedResult } from '@coppice/results-schema';

/** The repo-relative path a result file has under benchmarks/results: what `data-result` carries. */
export function resultRepoPath(r: LoadedResult): string {
  return `benchmarks/results/${r.data.rig.id}/${r.data.host.id}/${startedAtStamp(r.data.run.startedAt)}.json`;
}

export function resultSlug(r: LoadedResult): { rig: string; host: string; run: string } {
  return { rig: r.data.rig.id, host: r.data.host.id, run: startedAtStamp(r.data.run.startedAt) };
}

export const resultPageUrl = (r: LoadedResult) => {
  const s = resultSlug(r);
  return `/results/${s.rig}/${s.host}/${s.run}/`;
};

export const rawResultUrl = (r: LoadedResult) => {
  const s = resultSlug(r);
  return `/raw/${s.rig}/${s.host}/${s.run}.json`;
};

export const rigPageUrl = (rig: string) => `/rigs/${rig}/`;
export const hostPageUrl = (host: string) => `/hosts/${host}/`;
export const comparePageUrl = (a: string, b: string) => `/compare/${a}--${b}/`;
