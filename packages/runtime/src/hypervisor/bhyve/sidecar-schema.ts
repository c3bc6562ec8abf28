/**
 * The files the bhyve backend reads back (zod): a checkpoint's sidecar `FILE.coppice.json`, which decides whether a
 * restore may use the checkpoint, and a run folder's `bhyve.json`, which names the bhyve process of a VM.
 */
import { z } from 'zod';

export const sidecarSchema = z.object({
  format: z.literal('coppice-bhyve-checkpoint/1'),
  hypervisorVersion: z.string().min(1),
  image: z.string().min(1),
  memory: z.enum(['template', 'private']),
  vcpus: z.number().int().positive(),
  memoryMiB: z.number().int().positive(),
  /** Device layout without the per-VM parts (console unit, tap, MAC): what must match on restore. */
  layout: z.array(z.string()),
});

export type Sidecar = z.output<typeof sidecarSchema>;

export const monitorFileSchema = z.object({
  name: z.string().min(1),
  pid: z.number().int().positive(),
  startTime: z.string().min(1),
});
