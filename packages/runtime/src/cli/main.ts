/** `coppice <area> <verb> ...`: thin dispatch to the operator commands of each area. */
export {};
const areas: Record<string, () => Promise<{ main(argv: string[]): Promise<number> }>> = {
  net: () => import('./net.ts'),
  pool: () => import('./pool.ts'),
};

const [area, ...rest] = process.argv.slice(2);
const load = area ? areas[area] : undefined;
if (!load) {
  console.error(`usage: coppice <${Object.keys(areas).join('|')}> <command> [options]  (coppice net --help)`);
  process.exit(area ? 2 : 0);
}
const cli = await load();
process.exitCode = await cli.main(rest);
