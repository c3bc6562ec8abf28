import type { RigManifest } from '@coppice/results-schema';
import { egressManifest } from './egress/manifest.ts';
import { extToSandboxManifest } from './ext-to-sandbox/manifest.ts';
import { policyChurnManifest } from './policy-churn/manifest.ts';
import { rateLimitManifest } from './rate-limit/manifest.ts';

/** Manifests of the network rigs at the sandbox's edge: forwards, egress, rate limits, policy churn. */
export const networkEdgeManifests: readonly RigManifest[] = [policyChurnManifest, extToSandboxManifest, egressManifest, rateLimitManifest];
