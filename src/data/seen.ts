import type { EventColumns } from './types.js';
import { SIDE_FIELDS } from './types.js';

/**
 * Which ids of each field occur in events before a time (the as-of serving time): the table sizes
 * are planned from these counts, so that what is logged after asOf cannot change the hashed rows
 * of the training samples (the as-of invariance test deletes it all and compares).
 */
export class SeenBefore {
  private readonly marks = new Map<string, Uint8Array>();
  constructor(readonly before: number) {}

  /** Marks the ids of events [0, n) of the columns whose time is before `before`. */
  add(cols: EventColumns, n = cols.n): void {
    const { time } = cols;
    for (const f of ['user', 'item', 'category', ...SIDE_FIELDS] as const) {
      const ids = cols[f];
      if (!ids) continue;
      let m = this.marks.get(f) ?? new Uint8Array(0);
      let max = -1;
      for (let k = 0; k < n; k++) if (ids[k] > max) max = ids[k];
      if (max >= m.length) {
        const g = new Uint8Array(Math.max(max + 1, m.length * 2));
        g.set(m);
        m = g;
      }
      const before = this.before;
      for (let k = 0; k < n; k++) if (time[k] < before && ids[k] >= 0) m[ids[k]] = 1;
      this.marks.set(f, m);
    }
  }

  /** 1 for the ids of `field` seen before `before` (may be shorter than the vocabulary: 0 beyond) */
  marksOf(field: string): Uint8Array {
    return this.marks.get(field) ?? new Uint8Array(0);
  }

  /** Distinct ids seen before `before`, per field that occurred at all. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [f, m] of this.marks) {
      let c = 0;
      for (let i = 0; i < m.length; i++) c += m[i];
      out[f] = c;
    }
    return out;
  }
}
