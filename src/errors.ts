/**
 * The one error family lowbit throws on purpose. A message says what was wrong, where (file, layer,
 * flag) and what to do about it.
 */
export class LowbitError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LowbitError';
  }
}

/** Bad input from a user: a flag, a file, a shape, a bit width. The CLI maps it to exit code 2 or 1. */
export class UsageError extends LowbitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}
