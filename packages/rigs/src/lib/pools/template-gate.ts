/**
 * Whether rigs boot the Debian guest templates (base, code-interpreter-v1). On unless COPPICE_GUEST_TEMPLATES=0, for
 * a host that cannot spare the minutes a first template boot takes under TCG or the 2 GiB its images need. The rigs
 * and phases that need the templates are then skipped with this reason.
 */
export const GUEST_TEMPLATES_ENABLED = process.env.COPPICE_GUEST_TEMPLATES !== '0';

export const GUEST_TEMPLATES_OFF = 'the Debian templates are off (COPPICE_GUEST_TEMPLATES=0)';
