/** Bad command-line input: reported with exit status 2, and nothing is done. */
export class UsageError extends Error {}
