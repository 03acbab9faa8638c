import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocColumns, columnWidths, gatherColumns, SAMPLE_COLUMNS, type SampleColumns, type Schema } from '../../src/data/batch.js';
import { gatherBatch, gatherBatchNative, gatherBatchTS } from '../../src/features/gather.js';
import { loadAddon } from '../../src/native.js';
import { randInt, rng } from './random.js';

process.env.CMDCM_LOG_LEVEL ??= 'silent';

const noNative = typeof loadAddon()?.gatherRows === 'function' ? false : 'native addon unavailable (not built or CMDCM_NO_NATIVE=1): native half skipped';
if (noNative) console.log(`# ${noNative}`);

function schemaOf(fields: number, seqLen: number, dense: number): Schema {
  return {
    fields: Array.from({ length: fields }, (_, i) => `f${i}`), seqLen, seqTokens: ['item', 'category', 'behavior', 'gap'],
    dense: Array.from({ length: dense }, (_, i) => `d${i}`), hash: [], tableRows: 1,
  };
}

/** The oracle: each sample's row of each column copied with subarray + set, the plainest way. */
function gatherOracle(schema: Schema, src: SampleColumns, idx: Int32Array): SampleColumns {
  const w = columnWidths(schema);
  const out = allocColumns(schema, idx.length);
  for (const name of SAMPLE_COLUMNS) {
    const s = src[name] as Int32Array | Float32Array, d = out[name] as Int32Array | Float32Array;
    for (let i = 0; i < idx.length; i++) d.set(s.subarray(idx[i] * w[name], (idx[i] + 1) * w[name]), i * w[name]);
  }
  return out;
}

test('gatherBatch and gatherColumns equal the oracle on random shards and indices (repeats included)', () => {
  const r = rng(21);
  const impls = [gatherBatchTS, gatherBatch, ...(noNative ? [] : [gatherBatchNative]), (s: Schema, c: SampleColumns, i: Int32Array) => gatherColumns(s, c, Array.from(i))];
  for (let c = 0; c < 12; c++) {
    const schema = schemaOf(randInt(r, 1, 9), [1, 5, 50][c % 3], randInt(r, 0, 12));
    const n = randInt(r, 1, 300);
    const src = allocColumns(schema, n);
    for (const name of SAMPLE_COLUMNS) {
      const a = src[name] as Int32Array | Float32Array;
      for (let i = 0; i < a.length; i++) a[i] = a instanceof Float32Array ? r() * 100 - 50 : randInt(r, -1e9, 1e9);
    }
    const idx = Int32Array.from({ length: randInt(r, 0, 200) }, () => randInt(r, 0, n - 1));
    const want = gatherOracle(schema, src, idx);
    for (const gather of impls) {
      const got = gather(schema, src, idx);
      assert.equal(got.n, want.n);
      for (const name of SAMPLE_COLUMNS) assert.deepEqual(got[name], want[name], `${gather.name} ${name}`);
    }
  }
});

test('gatherBatch refuses an index outside the source', () => {
  const schema = schemaOf(2, 3, 1);
  const src = allocColumns(schema, 4);
  for (const gather of [gatherBatchTS, ...(noNative ? [] : [gatherBatchNative]), gatherColumns]) {
    assert.throws(() => gather(schema, src, Int32Array.of(0, 4)), RangeError);
    assert.throws(() => gather(schema, src, Int32Array.of(-1)), RangeError);
  }
});
