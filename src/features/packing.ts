/**
 * Behavior-sequence packing, TypeScript reference (HACKING.md "Hashed table";
 * native/features/packing.cc gives identical output).
 *
 * For sample i of user u at time t, the included events are u's events e with
 * floor(time[e] / res) < floor(t / res) — strictly earlier at the log's resolution, so an event in
 * the click's own hour (hour logs) never reaches its features — and of those the last `seqLen`,
 * oldest first, left-aligned, zero-padded. Each event becomes 4 table rows:
 *   itemRow[e], catRow[e], behaviorOffset + behavior[e], gapOffset + gapBucket(t - time[e]).
 */

export interface PackRequest {
  /** Per event (grouped by user CSR, time-sorted within a user): local wall-clock seconds. */
  time: Int32Array;
  /** Per event: the item's table row (hashVocab of the item field mapped through event items). */
  itemRow: Int32Array;
  /** Per event: the category's table row. */
  catRow: Int32Array;
  /** Per event: behavior code 0..3. */
  behavior: Uint8Array;
  /** U + 1 entries: user u's events are [userStart[u], userStart[u + 1]). */
  userStart: Int32Array;
  /** Per sample: user index. */
  sampleUser: Int32Array;
  /** Per sample: click time, local wall-clock seconds. */
  sampleTime: Int32Array;
  /** L: events kept per sample. */
  seqLen: number;
  /** Seconds per time step of the log: 1, 3600 or 86400. */
  resolution: number;
  /** Table row of behavior 0 (Schema.hash 'behavior' offset). */
  behaviorOffset: number;
  /** Table row of gap bucket 0 (Schema.hash 'gap' offset). */
  gapOffset: number;
  /** G: number of gap buckets (16). */
  gapBuckets: number;
}

export interface PackedSequences {
  /** N × L × 4 table rows, 0 = padding. */
  seq: Int32Array;
  /** N: valid events per sample. */
  seqLen: Int32Array;
}

export const GAP_BUCKETS = 16;

/** Gap bucket of an event `gapSeconds` (> 0) before the click: 0 within the hour, then log2 hours. */
export function gapBucket(gapSeconds: number, buckets: number = GAP_BUCKETS): number {
  const gapHours = Math.floor(gapSeconds / 3600);
  if (gapHours <= 0) return 0;
  return Math.min(buckets - 1, 32 - Math.clz32(gapHours));
}

function checkInt(name: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`packSequences: ${name} must be an integer in [${lo}, ${hi}], got ${v}`);
}

/**
 * Validates the request's shapes (the same checks the addon makes before touching memory) and
 * returns the output arrays, allocating them when `out` is not given.
 */
export function checkPackRequest(req: PackRequest, out?: PackedSequences): PackedSequences {
  const nEvents = req.time.length;
  if (req.itemRow.length !== nEvents || req.catRow.length !== nEvents || req.behavior.length !== nEvents) {
    throw new RangeError('packSequences: time, itemRow, catRow and behavior must have one entry per event');
  }
  if (req.userStart.length < 1) throw new RangeError('packSequences: userStart must have U + 1 entries');
  if (req.sampleTime.length !== req.sampleUser.length) throw new RangeError('packSequences: sampleUser and sampleTime must have the same length');
  checkInt('seqLen', req.seqLen, 0, 1 << 20);
  checkInt('resolution', req.resolution, 1, 0x7fffffff);
  checkInt('behaviorOffset', req.behaviorOffset, 0, 0x7fffffff - 255);
  checkInt('gapOffset', req.gapOffset, 0, 0x7fffffff - 64);
  checkInt('gapBuckets', req.gapBuckets, 1, 64);
  const n = req.sampleUser.length;
  const res = out ?? { seq: new Int32Array(n * req.seqLen * 4), seqLen: new Int32Array(n) };
  if (res.seq.length < n * req.seqLen * 4 || res.seqLen.length < n) {
    throw new RangeError('packSequences: output arrays are too short for N samples of seqLen events');
  }
  return res;
}

export function packSequencesTS(req: PackRequest, out?: PackedSequences): PackedSequences {
  const res = checkPackRequest(req, out);
  const { time, itemRow, catRow, behavior, userStart, sampleUser, sampleTime, resolution, behaviorOffset, gapOffset } = req;
  const L = req.seqLen, G = req.gapBuckets, width = L * 4;
  const nUsers = userStart.length - 1, nEvents = time.length;
  const seq = res.seq, lens = res.seqLen;
  for (let i = 0; i < sampleUser.length; i++) {
    const u = sampleUser[i];
    if (!(u >= 0 && u < nUsers)) throw new RangeError(`packSequences: sampleUser[${i}] = ${u} is not a user index`);
    const lo = userStart[u], hi = userStart[u + 1];
    if (!(lo >= 0 && hi >= lo && hi <= nEvents)) throw new RangeError(`packSequences: userStart of user ${u} is not a range of the events`);
    const t = sampleTime[i];
    // floor(te / res) < floor(t / res)  <=>  te < floor(t / res) * res
    const threshold = Math.floor(t / resolution) * resolution;
    let a = lo, b = hi;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (time[m] < threshold) a = m + 1;
      else b = m;
    }
    const end = a;
    const start = Math.max(lo, end - L);
    lens[i] = end - start;
    let d = i * width;
    for (let e = start; e < end; e++) {
      const gapHours = Math.floor((t - time[e]) / 3600);
      seq[d] = itemRow[e];
      seq[d + 1] = catRow[e];
      seq[d + 2] = behaviorOffset + behavior[e];
      seq[d + 3] = gapOffset + (gapHours <= 0 ? 0 : Math.min(G - 1, 32 - Math.clz32(gapHours)));
      d += 4;
    }
    const stop = (i + 1) * width;
    if (d < stop) seq.fill(0, d, stop);
  }
  return res;
}
