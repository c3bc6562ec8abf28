/** `coppice pool ...` operator commands (not written yet). */
export async function main(_argv: string[]): Promise<number> {
  console.error('coppice pool: not implemented yet');
  return 2;
}
