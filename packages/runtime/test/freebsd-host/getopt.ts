/**
 * getopt(3) as FreeBSD's tools call it: flags may be clustered (`-qv`), an option's argument is the rest of its
 * word or the next word (`-afoo`, `-a foo`), `--` or the first operand ends the options. Each tool model supplies
 * its own option string and error messages, as the real tools print their own usage text.
 */
export interface GetoptErrors {
  illegal(option: string): Error;
  missingArgument(option: string): Error;
}

/** Calls `onOption` for each option in order (value undefined for a flag) and returns the operands. */
export function getopt(
  args: readonly string[],
  optstring: string,
  errors: GetoptErrors,
  onOption: (option: string, value: string | undefined) => void,
): string[] {
  let i = 0;
  for (; i < args.length; i++) {
    const word = args[i] as string;
    if (word === '--') {
      i++;
      break;
    }
    if (!word.startsWith('-') || word === '-') break;
    for (let j = 1; j < word.length; j++) {
      const c = word[j] as string;
      const at = optstring.indexOf(c);
      if (at < 0 || c === ':') throw errors.illegal(c);
      if (optstring[at + 1] !== ':') {
        onOption(c, undefined);
        continue;
      }
      const value = word.slice(j + 1) || args[++i];
      if (value === undefined) throw errors.missingArgument(c);
      onOption(c, value);
      break;
    }
  }
  return args.slice(i);
}
