/**
 * Text from a user's file, made safe for a terminal line: control bytes (ESC sequences, NUL, bells,
 * carriage returns, newlines) become visible `\xNN` escapes, so a binary file named in a message
 * cannot move the cursor, clear the screen or split the line, and very long text is cut.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

export function printable(s: string, max = 4000): string {
  const t = s.replace(CONTROL, (c) => (c === '\t' ? '\\t' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  return t.length > max ? t.slice(0, max - 1) + '…' : t;
}

/** Why a file's head holds no complete line: empty, blank, binary, or one line longer than we peek. */
export function noLinesReason(head: Uint8Array, eof: boolean): string {
  if (head.length === 0) return 'the file is empty';
  const sample = head.subarray(0, 65536);
  let ctl = 0, nul = false, nl = false;
  for (const b of sample) {
    if (b === 0) nul = true;
    if (b === 10) nl = true;
    if (b < 32 && b !== 9 && b !== 10 && b !== 13) ctl++;
  }
  if (nul || ctl > sample.length / 100) return 'it looks binary (control or NUL bytes), not a CSV text log';
  if (!nl && !eof) return `no line break in its first ${Math.round(head.length / 1024)} KB: not a line-by-line CSV log`;
  return 'no data lines (the file is blank)';
}
