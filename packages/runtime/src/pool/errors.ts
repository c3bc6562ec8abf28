/** Bad input to a pool operation: nothing was changed. */
export class PoolInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoolInputError';
  }
}
