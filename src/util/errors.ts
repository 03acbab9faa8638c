/**
 * An error meant for the user: the CLI prints its message on one line (no stack) and exits with
 * `exitCode`. Anything else reaching the top level is a bug and is printed with its stack.
 */
export class CmdcmError extends Error {
  readonly exitCode: number;
  /**
   * A stable code for programs that embed cmdcm: 'ERR_CMDCM_FLAG' (a bad flag or option, exit 2),
   * 'ERR_CMDCM_USAGE' (another usage error, exit 2), 'ERR_CMDCM' (bad input or state, exit 1).
   */
  readonly code: string;
  constructor(message: string, opts: { exitCode?: number; cause?: unknown; code?: string } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CmdcmError';
    this.exitCode = opts.exitCode ?? 1;
    this.code = opts.code ?? (this.exitCode === 2 ? 'ERR_CMDCM_USAGE' : 'ERR_CMDCM');
  }
}

/** Error for a bad command-line flag: names the flag. */
export function flagError(flag: string, why: string): CmdcmError {
  return new CmdcmError(`--${flag}: ${why}`, { exitCode: 2, code: 'ERR_CMDCM_FLAG' });
}
