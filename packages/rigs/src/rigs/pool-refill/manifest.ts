import { defineManifest } from '../../harness/define-manifest.ts';

export const poolRefillManifest = defineManifest({
  id: 'pool-refill',
  title: 'Pool refill: making one idle entry',
  summary:
    'How long the pool takes to make one idle entry: a durable entry (its own checkpoint on disk) and a hot entry ' +
    '(a VM restored, answering its probe, then SIGSTOPped), the way a two-tier pool refills after a return.',
  script: 'packages/rigs/src/rigs/pool-refill/rig.ts',
  platforms: ['linux'],
  requirements: {
    root: true,
    binaries: { linux: ['qemu-system-x86_64', 'apt-get', 'dpkg-deb', 'cpio', 'busybox'] },
    notes: ["The pool's template checkpoint is made once before the samples and is not timed."],
  },
  metrics: [
    {
      name: 'refill',
      unit: 'ms',
      description: 'From the fill call until the new entry is recorded idle in the pool state on disk.',
      labels: { tier: ['durable', 'hot'] },
    },
  ],
  clock:
    'durable: from just before pool.fill("durable") until the entry\'s checkpoint is made and the pool state file ' +
    "renamed into place. The checkpoint is the template's device state copied and fsynced (its directory too), plus " +
    "hard links to the template's RAM: its image on disk (so the entry survives a reboot) and its tmpfs copy, which " +
    'restores map copy-on-write; no guest RAM is copied. hot: from just before pool.fill("hot") in a two-tier pool ' +
    'whose cold tier holds one entry until that entry has been restored, answered its readiness probe, been ' +
    'SIGSTOPped, and the state written. The entry is destroyed after each sample, untimed.',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run pool-refill',
  samples: { full: 30, quick: 3 },
});
