/** Host and team capacity, enforced before anything is created. */
export interface CapacityLimits {
  /** Sandboxes running (or starting) on this host at once. */
  maxSandboxes: number;
  /** Sandboxes one team may run at once. */
  maxSandboxesPerTeam: number;
  /** Guest memory the host may commit to running sandboxes, in MiB. */
  maxMemoryMB: number;
  /** Longest timeout a create or setTimeout may ask for, in seconds (E2B's hard cap is 24 h). */
  maxTimeoutSeconds: number;
}

export const DEFAULT_LIMITS: CapacityLimits = {
  maxSandboxes: 100,
  maxSandboxesPerTeam: 50,
  maxMemoryMB: 16 * 1024,
  maxTimeoutSeconds: 24 * 3600,
};
