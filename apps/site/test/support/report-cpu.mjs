// Preloaded into a build process by test/support/astro-build.ts: reports the process's CPU time when it exits.
process.on('exit', () => {
  const { user, system } = process.cpuUsage();
  process.stderr.write(`\nCOPPICE_CPU_MS=${Math.round((user + system) / 1000)}\n`);
});
