/**
 * An error meant for the user: the CLI prints its message on one line (no stack) and exits with
 * `exitCode`. Anything else reaching the top level is a bug and is printed with its stack.
 */
export class CmdcmError extends Error {
  readonly exitCode: number;
  constructor(message: string, opts: { exitCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CmdcmError';
    this.exitCode = opts.exitCode ?? 1;
  }
}

/** Error for a bad command-line flag: names the flag. */
export function flagError(flag: string, why: string): CmdcmError {
  return new CmdcmError(`--${flag}: ${why}`, { exitCode: 2 });
}
