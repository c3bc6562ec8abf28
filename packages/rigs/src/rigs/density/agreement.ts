/**
 * The density rig's check that its two measures of per-VM memory agree: the fall of MemAvailable divided by N (host
 * wide, moved by whatever else the host does) and the VMs' summed PSS divided by N (per process, blind to the rest
 * of the host). They differ legitimately by little: kernel memory per VM that is not in any PSS (page tables, slab,
 * kernel stacks: under 1 MiB per VM in the captures so far) and the VMs' share of template pages already resident
 * before the round (in PSS, not in the fall: a few MiB per VM at N = 8, less at larger N). So a gap beyond the
 * manifest's AGREEMENT_TOLERANCE means other work on the host moved MemAvailable during the rounds, and the host
 * delta of that capture is noise, not a figure.
 */
import { computeStat } from '@coppice/results-schema';
import { AGREEMENT_TOLERANCE } from './manifest.ts';

const { mib: TOLERANCE_MIB, fractionOfPss: TOLERANCE_FRACTION } = AGREEMENT_TOLERANCE;

export interface Agreement {
  ok: boolean;
  detail: string;
}

/** Compares the medians over the rounds of one (n, sharing) cell: per-VM host delta against per-VM PSS, MiB. */
export function hostDeltaAgreesWithPss(
  cell: string,
  perVmMiB: readonly number[],
  pssPerVmMiB: readonly number[],
): Agreement {
  if (perVmMiB.length === 0 || perVmMiB.length !== pssPerVmMiB.length) {
    throw new Error(`${cell}: ${perVmMiB.length} host-delta rounds against ${pssPerVmMiB.length} PSS rounds`);
  }
  const hostMedian = computeStat(perVmMiB, 'median');
  const pssMedian = computeStat(pssPerVmMiB, 'median');
  const gap = Math.abs(hostMedian - pssMedian);
  const tolerance = TOLERANCE_MIB + TOLERANCE_FRACTION * Math.abs(pssMedian);
  const rounds = perVmMiB.map((h, i) => `${h.toFixed(1)}/${pssPerVmMiB[i]!.toFixed(1)}`).join(', ');
  return {
    ok: gap <= tolerance,
    detail:
      `${cell}: median per-VM host delta ${hostMedian.toFixed(1)} MiB, median per-VM PSS ${pssMedian.toFixed(1)} MiB over ` +
      `${perVmMiB.length} rounds (host delta/PSS per round: ${rounds}); gap ${gap.toFixed(1)} MiB, tolerance ` +
      `${tolerance.toFixed(1)} MiB (${TOLERANCE_MIB} MiB + ${TOLERANCE_FRACTION * 100}% of PSS)`,
  };
}
