export interface AuditReport {
  ok: boolean;
  believed: { sandboxes: number; idleEndpoints: number };
  kernel: { rootHook: boolean; chains: number; endpoints: number; states: number };
  leaks: {
    endpoints: string[];
    chains: string[];
    sets: string[];
    forwards: string[];
    bindings: string[];
    /** Connection states touching an address no active sandbox owns. */
    states: string[];
    /** Rate-limit objects (ifb/tbf, ingress redirects, dummynet pipes) no limited sandbox owns (with a rate limiter). */
    rateLimits?: string[];
  };
  missing: { endpoints: string[]; chains: string[]; sets: string[]; forwards: string[]; rateLimits?: string[] };
}

export interface ReconcileReport {
  removedChains: string[];
  removedEndpoints: string[];
  removedStray: number;
  killedStatesOf: string[];
  reappliedPolicies: string[];
  droppedSandboxes: string[];
  stateProblems: string[];
  /** Rate-limit objects removed (no limited sandbox owned them) or re-applied (with a rate limiter). */
  removedRateLimits?: string[];
  reappliedRateLimits?: string[];
}
