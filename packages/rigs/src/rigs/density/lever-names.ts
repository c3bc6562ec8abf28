/** The density rig's memory levers by name (levers.ts defines each; the manifest labels its series with them). */
export const LEVER_NAMES = ['none', 'arena-1', 'malloc-trim', 'tcg-single', 'tb-2', 'ksm', 'runtime'] as const;
export type LeverName = (typeof LEVER_NAMES)[number];
