/**
 * The builder's per-promotion output buffers (growable typed arrays) and the chunks they hand to
 * the shard writer.
 */

/**
 * One chunk of samples of one promotion, as stored in a shard. Behavior sequences are stored
 * compactly instead of as N x L x 4 tokens (which would be ~800 bytes a sample, 50x the log): the
 * chunk keeps, per (user, promotion) block, the user's events its samples can look back on
 * (`ev*`, CSR by `evStart`), and each sample names its block (`seqBlock`). `packSequences` on the
 * block CSR then yields exactly the last L events strictly before each click (see `packChunk`).
 */
export interface SampleChunk {
  promo: number;
  /** the target's clicks at or after `asOf` (the test split); false for every other chunk */
  test: boolean;
  n: number;
  columns: {
    fields: Int32Array; dense: Float32Array; labels: Uint8Array; mask: Uint8Array;
    user: Int32Array; item: Int32Array; time: Int32Array; daysToPromo: Int32Array;
    seqBlock: Int32Array; evStart: Int32Array;
    evItem: Int32Array; evCategory: Int32Array; evBehavior: Uint8Array; evTime: Int32Array;
  };
}

class Grow<T extends Int32Array | Float32Array | Uint8Array> {
  a: T;
  constructor(private readonly make: (n: number) => T, cap: number) { this.a = make(cap); }
  /** room for n elements; `exact`: no more (the caller chose the growth) */
  ensure(n: number, exact = false): T {
    if (n > this.a.length) {
      const b = this.make(exact ? n : Math.max(n, this.a.length * 2));
      b.set(this.a as never);
      this.a = b;
    }
    return this.a;
  }
}

const i32 = (n: number) => new Int32Array(n);
const f32 = (n: number) => new Float32Array(n);
const u8 = (n: number) => new Uint8Array(n);

export class ChunkBuffer {
  n = 0;
  evN = 0;
  fields: Grow<Int32Array>; dense: Grow<Float32Array>; labels = new Grow(u8, 0); mask = new Grow(u8, 0);
  user = new Grow(i32, 0); item = new Grow(i32, 0); time = new Grow(i32, 0); dtp = new Grow(i32, 0);
  seqBlock = new Grow(i32, 0); nBlocks = 0; evStart = new Grow(i32, 1024);
  evItem = new Grow(i32, 0); evCat = new Grow(i32, 0); evBeh = new Grow(u8, 0); evTime = new Grow(i32, 0);
  /**
   * `full`: the sample count at which the chunk is flushed. Growth stops doubling near it: the
   * chunk passes it by at most one user's pre-window, and doubling there would leave every
   * promotion's two buffers at twice the memory they need.
   */
  private readonly limit: number;
  constructor(readonly F: number, readonly S: number, cap: number, full = cap) {
    this.limit = full + (full >> 3) + 1024;
    this.fields = new Grow(i32, cap * F);
    this.dense = new Grow(f32, cap * S);
    this.ensure(cap);
    this.ensureEv(cap * 4);
  }
  ensure(n: number): void {
    if (n <= this.user.a.length) return;
    const len = this.user.a.length;
    const c = Math.max(n, n <= this.limit ? Math.min(len * 2, this.limit) : len * 2, 1024);
    this.fields.ensure(c * this.F, true); this.dense.ensure(c * this.S, true); this.labels.ensure(c * 3, true); this.mask.ensure(c * 3, true);
    this.user.ensure(c, true); this.item.ensure(c, true); this.time.ensure(c, true); this.dtp.ensure(c, true); this.seqBlock.ensure(c, true);
  }
  ensureEv(n: number): void {
    if (n <= this.evItem.a.length) return;
    const c = Math.max(n, this.evItem.a.length * 2, 4096);
    this.evItem.ensure(c); this.evCat.ensure(c); this.evBeh.ensure(c); this.evTime.ensure(c);
  }
  /** The filled part of the buffers: copies, or views when `view` (valid until the buffer refills). */
  take(promo: number, test: boolean, view: boolean): SampleChunk {
    const n = this.n, e = this.evN;
    const cut = <T extends Int32Array | Float32Array | Uint8Array>(a: T, len: number): T => (view ? a.subarray(0, len) : a.slice(0, len)) as T;
    const chunk: SampleChunk = {
      promo, test, n,
      columns: {
        fields: cut(this.fields.a, n * this.F), dense: cut(this.dense.a, n * this.S),
        labels: cut(this.labels.a, n * 3), mask: cut(this.mask.a, n * 3),
        user: cut(this.user.a, n), item: cut(this.item.a, n), time: cut(this.time.a, n), daysToPromo: cut(this.dtp.a, n),
        seqBlock: cut(this.seqBlock.a, n), evStart: cut(this.evStart.a, this.nBlocks + 1),
        evItem: cut(this.evItem.a, e), evCategory: cut(this.evCat.a, e), evBehavior: cut(this.evBeh.a, e), evTime: cut(this.evTime.a, e),
      },
    };
    this.n = 0;
    this.evN = 0;
    this.nBlocks = 0;
    return chunk;
  }

  /** A block of the next samples, with room for `maxSamples` of them (one user's window). */
  openBlock(maxSamples: number): Block {
    this.ensure(this.n + maxSamples);
    return { buf: this, start: this.n, id: this.nBlocks, seqLo: 0, seqHi: 0 };
  }
  /**
   * Close a block that got samples: copy the user's events [seqLo, seqHi) it looks back on, as
   * table rows (item, category) and raw behavior / time.
   */
  closeBlock(blk: Block, itemRows: Int32Array, catRows: Int32Array, item: Int32Array, category: Int32Array, behavior: Uint8Array, time: Int32Array): void {
    const { seqLo, seqHi } = blk;
    const base = this.evN;
    this.ensureEv(base + seqHi - seqLo);
    const ei = this.evItem.a, ec = this.evCat.a, eb = this.evBeh.a, et = this.evTime.a;
    for (let x = seqLo; x < seqHi; x++) {
      const q = base + x - seqLo;
      ei[q] = itemRows[item[x]]; ec[q] = catRows[category[x]]; eb[q] = behavior[x]; et[q] = time[x];
    }
    this.evN = base + seqHi - seqLo;
    this.nBlocks++;
    this.evStart.ensure(this.nBlocks + 1)[this.nBlocks] = this.evN;
  }
}

/**
 * A (user, window) block of one buffer: its samples share one slice of the user's events, from
 * the first sample's look-back start to the last sample's bucket (see SampleChunk).
 */
export interface Block { buf: ChunkBuffer; start: number; id: number; seqLo: number; seqHi: number }
