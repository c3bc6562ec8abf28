/**
 * Whether rigs boot the Debian guest templates. Off unless COPPICE_GUEST_TEMPLATES=1: in this build a template's
 * agent has not yet been seen answering over the sandbox's network under QEMU/TCG, so a run would spend its
 * boot timeouts and measure nothing. The rigs and phases that need the templates are skipped with this reason.
 */
export const GUEST_TEMPLATES_ENABLED = process.env.COPPICE_GUEST_TEMPLATES === '1';

export const GUEST_TEMPLATES_OFF =
  'the Debian templates are off (set COPPICE_GUEST_TEMPLATES=1): their agent has not yet answered over the sandbox network under QEMU here';
