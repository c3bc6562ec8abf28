/** `coppice net ...` operator commands (not written yet). */
export async function main(_argv: string[]): Promise<number> {
  console.error('coppice net: not implemented yet');
  return 2;
}
