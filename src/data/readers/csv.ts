/**
 * Comma-separated line splitting over byte chunks. Fields are reported as [start, end) offsets
 * into the chunk (no strings, no per-row objects); a trailing `\r` (CRLF files) is not part of the
 * last field. No quoting: none of the supported logs quote fields.
 */
export const MAX_FIELDS = 64;

export type RowFn = (buf: Buffer, nf: number, line: number) => void;

export class CsvSplitter {
  /** field i of the current row is buf[start[i], end[i]) */
  readonly start = new Int32Array(MAX_FIELDS + 1);
  readonly end = new Int32Array(MAX_FIELDS + 1);
  /** 1-based number of the last line handed out */
  line = 0;
  private carry: Buffer | null = null;

  constructor(private readonly onRow: RowFn) {}

  /** Feed the next chunk; complete lines are handed to onRow, the unfinished tail is kept. */
  push(chunk: Buffer): void {
    let from = 0;
    if (this.carry) {
      const nl = chunk.indexOf(10);
      if (nl < 0) {
        this.carry = Buffer.concat([this.carry, chunk]);
        return;
      }
      const joined = Buffer.concat([this.carry, chunk.subarray(0, nl + 1)]);
      this.carry = null;
      this.scan(joined, 0, joined.length);
      from = nl + 1;
    }
    const last = chunk.lastIndexOf(10);
    if (last < from) {
      this.carry = from < chunk.length ? Buffer.from(chunk.subarray(from)) : null;
      return;
    }
    this.scan(chunk, from, last + 1);
    // copy: the stream may hand the same memory back later
    if (last + 1 < chunk.length) this.carry = Buffer.from(chunk.subarray(last + 1));
  }

  /** End of input: a last line without a newline is still a line. */
  flush(): void {
    if (this.carry && this.carry.length > 0) {
      const c = this.carry;
      this.carry = null;
      this.scanLast(c);
    }
  }

  private scanLast(buf: Buffer): void {
    const withNl = Buffer.allocUnsafe(buf.length + 1);
    buf.copy(withNl);
    withNl[buf.length] = 10;
    this.scan(withNl, 0, withNl.length);
  }

  /**
   * Optional bulk scanner (the addon's, see read.ts): handles the lines of buf[from, to) it can,
   * advancing `line`, and returns where it stopped; the line there is then split here.
   */
  fast: ((buf: Buffer, from: number, to: number) => number) | undefined;
  /** lines the fast scanner stopped at: when they are common it only costs, so it is dropped */
  private stalls = 0;

  /** buf[from, to) holds whole lines, the last one ending in '\n'. */
  private scan(buf: Buffer, from: number, to: number): void {
    const start = this.start, end = this.end, onRow = this.onRow;
    let i = from;
    while (i < to) {
      if (this.fast) {
        i = this.fast(buf, i, to);
        if (i >= to) break;
        if (++this.stalls > 1000 && this.stalls * 8 > this.line) this.fast = undefined;
      }
      this.line++;
      let nf = 0;
      const lineStart = i;
      start[0] = i;
      let c = buf[i];
      while (c !== 10) {
        if (c === 44) {
          if (nf < MAX_FIELDS) end[nf] = i;
          nf++;
          if (nf < MAX_FIELDS) start[nf] = i + 1;
        }
        c = buf[++i];
      }
      let e = i;
      if (e > lineStart && buf[e - 1] === 13) e--;
      if (nf < MAX_FIELDS) end[nf] = e;
      nf++;
      // a blank line (or a lone CR) is no row
      if (!(nf === 1 && e === lineStart)) onRow(buf, nf, this.line);
      i++;
    }
  }
}
