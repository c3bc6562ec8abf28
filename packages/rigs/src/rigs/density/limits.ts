/** When the density rig stops growing N: before a level that would eat into the memory reserve or the time budget. */

export interface LevelCost {
  /** Memory one VM of the last level cost, MiB: the larger of its share of host-delta and its PSS (either can be low). */
  perVmMiB: number;
  /** Restore time per VM in the last level's rounds. */
  secondsPerVm: number;
  /** The rest of one round of the last level (settling, measuring, releasing, waiting for memory to come back), s. */
  roundOverheadS: number;
}

export interface HostRoom {
  availableMiB: number;
  reserveMiB: number;
  elapsedS: number;
  budgetS: number;
}

/**
 * Why level n (run `rounds` times, each from an empty host) must not run, or undefined if it may. Memory is
 * predicted from the last level (+5%), or from `firstGuessPerVmMiB` for the first (or when the last figure is not
 * positive); time from the last level's rounds (+20%), not checked for the first.
 */
export function stopReason(
  n: number,
  rounds: number,
  last: LevelCost | undefined,
  firstGuessPerVmMiB: number,
  room: HostRoom,
): string | undefined {
  // A non-positive figure (a host-delta swamped by other work on the host) says nothing: back to the first guess.
  const perVm = last && last.perVmMiB > 0 ? last.perVmMiB * 1.05 : firstGuessPerVmMiB;
  const predicted = n * perVm;
  if (predicted > room.availableMiB - room.reserveMiB) {
    return `stopped before n=${n}: about ${predicted.toFixed(0)} MiB needed, ${room.availableMiB.toFixed(0)} MiB available, ${room.reserveMiB} MiB kept in reserve`;
  }
  const seconds = last ? rounds * (last.secondsPerVm * n + last.roundOverheadS) : 0;
  if (last && room.elapsedS + seconds * 1.2 > room.budgetS) {
    return `stopped before n=${n}: about ${seconds.toFixed(0)} s needed for its ${rounds} rounds, ${room.elapsedS.toFixed(0)} s of the ${room.budgetS} s budget spent`;
  }
  return undefined;
}
