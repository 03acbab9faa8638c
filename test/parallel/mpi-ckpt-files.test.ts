/**
 * The sharded checkpoint's files without MPI (src/train/checkpoint-shards.ts, the manifest in
 * checkpoint.ts): shards written by M ranks read back by any N (each rank its rows), assembled by
 * one process, and every damage to them refused with one line naming the file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newShardDir, ownedRowCount, readShardRows, writeShardFile, validateShardSet, SHARDS_DIR, type ShardSet } from '../../src/train/checkpoint-shards.js';
import { CKPT_LATEST, CKPT_PREV, decodeCheckpoint, encodeCheckpoint, readCheckpoint, readCheckpointFile, saveManifest, type CheckpointMeta } from '../../src/train/checkpoint.js';
import { CmdcmError } from '../../src/util/errors.js';
import { DEFAULT_TRAIN_CONFIG } from '../../src/train/config.js';
import { initTableRows, type TrainState } from '../../src/train/state.js';

const ROWS = 23, DIM = 3;
const whole = (salt: number) => Float32Array.from({ length: ROWS * DIM }, (_, i) => i + salt / 10);

/** The rows rank u of N owns, cut from a whole table. */
function own(a: Float32Array, N: number, u: number): Float32Array {
  const out = new Float32Array(ownedRowCount(ROWS, N, u) * DIM);
  for (let g = u; g < ROWS; g += N) out.set(a.subarray(g * DIM, (g + 1) * DIM), Math.floor(g / N) * DIM);
  return out;
}

async function writeSet(dir: string, M: number, kind: 'train' | 'best' = 'train'): Promise<ShardSet> {
  const d = newShardDir(kind, 7);
  const arrays = kind === 'best' ? (['table'] as const) : (['table', 'tableM', 'tableV'] as const);
  const files = [];
  for (let w = 0; w < M; w++) files.push(await writeShardFile(dir, d, w, M, ROWS, DIM, arrays.map((_, i) => own(whole(i), M, w))));
  return { dir: d, ranks: M, arrays: [...arrays], files };
}

test('shards of M ranks give every rank of any N exactly its rows, and one process the whole table', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cmdcm-shards-'));
  try {
    for (const M of [1, 2, 3, 5]) {
      const set = await writeSet(dir, M);
      for (const N of [1, 2, 3, 4, 7]) {
        for (let u = 0; u < N; u++) {
          const n = ownedRowCount(ROWS, N, u) * DIM;
          const out = { table: new Float32Array(n).fill(NaN), tableM: new Float32Array(n).fill(NaN), tableV: new Float32Array(n).fill(NaN) };
          await readShardRows(dir, set, ROWS, DIM, N, u, out);
          assert.deepEqual(out.table, own(whole(0), N, u), `M=${M} N=${N} u=${u}`);
          assert.deepEqual(out.tableM, own(whole(1), N, u));
          assert.deepEqual(out.tableV, own(whole(2), N, u));
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the fresh table drawn rank by rank equals the one drawn whole', () => {
  const cfg = { seed: 11, tableInitStd: DEFAULT_TRAIN_CONFIG.tableInitStd };
  const all = new Float32Array(ROWS * DIM);
  initTableRows(cfg, ROWS, DIM, 1, 0, all);
  assert.ok(all.subarray(DIM).some((x) => x !== 0));
  assert.deepEqual(all.subarray(0, DIM), new Float32Array(DIM));
  for (const N of [2, 3]) {
    for (let u = 0; u < N; u++) {
      const mine = new Float32Array(ownedRowCount(ROWS, N, u) * DIM);
      initTableRows(cfg, ROWS, DIM, N, u, mine);
      assert.deepEqual(mine, own(all, N, u));
    }
  }
});

function meta(kind: 'train' | 'best'): CheckpointMeta {
  return { kind, model: 'cmdcm', modelConfig: null, trainConfig: DEFAULT_TRAIN_CONFIG, schemaFingerprint: 'f', dim: DIM, tableRows: ROWS, createdAt: '2026-01-01T00:00:00Z' };
}
const E = new Float32Array(0);
function dense(): TrainState {
  const p = Float32Array.from([1, 2, 3]);
  return { params: p, m: p.map((x) => x / 2), v: p.map((x) => x / 4), table: E, tableM: E, tableV: E, step: 7, epoch: 0, cursor: 7, epochRng: [1, 2, 3, 4], rng: [5, 6, 7, 8], best: null, badValidations: 0, finished: null };
}

test('a manifest (format 2) is read whole by readCheckpoint; rotation keeps prev; unreferenced shard directories go', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cmdcm-shards-'));
  try {
    const a = await writeSet(dir, 2);
    await saveManifest(dir, { meta: meta('train'), state: dense(), shards: a });
    // a directory no manifest names (a rank died writing it)
    const orphan = await writeSet(dir, 3);
    const b = await writeSet(dir, 3);
    await saveManifest(dir, { meta: meta('train'), state: { ...dense(), step: 9 }, shards: b });
    assert.deepEqual(readdirSync(join(dir, SHARDS_DIR)).map((d) => `${SHARDS_DIR}/${d}`).sort(), [a.dir, b.dir].sort());
    assert.ok(!readdirSync(join(dir, SHARDS_DIR)).includes(orphan.dir.split('/')[1]));
    const latest = await readCheckpoint(join(dir, CKPT_LATEST));
    assert.equal(latest.shards, undefined);
    assert.equal(latest.state.step, 9);
    assert.deepEqual(latest.state.table, whole(0));
    assert.deepEqual(latest.state.tableV, whole(2));
    assert.deepEqual(latest.state.m, Float32Array.from([0.5, 1, 1.5]));
    assert.equal((await readCheckpoint(join(dir, CKPT_PREV))).state.step, 7);
    // the file as stored: version 2, no table values, the shard set
    const raw = readFileSync(join(dir, CKPT_LATEST));
    assert.equal(raw.readUInt32LE(8), 2);
    assert.deepEqual((await readCheckpointFile(join(dir, CKPT_LATEST))).shards, b);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('damaged shards and manifests are refused with one line naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cmdcm-shards-'));
  try {
    const set = await writeSet(dir, 2, 'best');
    const path = await saveManifest(dir, { meta: meta('best'), state: { ...dense(), m: E, v: E }, shards: set });
    const shard1 = join(dir, set.dir, set.files[1].name);
    const good = readFileSync(shard1);
    const refused = async (re: RegExp) => {
      await assert.rejects(readCheckpoint(path), (e: Error) => e instanceof CmdcmError && re.test(e.message) && !e.message.includes('\n'));
    };
    // a flipped data byte
    const flipped = Buffer.from(good);
    flipped[60] ^= 1;
    writeFileSync(shard1, flipped);
    await refused(new RegExp(`${set.files[1].name}: corrupted checkpoint shard \\(CRC mismatch`));
    // truncated
    writeFileSync(shard1, good);
    truncateSync(shard1, good.length - 4);
    await refused(/truncated or replaced/);
    // missing
    rmSync(shard1);
    await refused(new RegExp(`${set.files[1].name}`));
    // another rank's file in its place
    writeFileSync(shard1, readFileSync(join(dir, set.dir, set.files[0].name)));
    await refused(/truncated or replaced|does not match the manifest|CRC/);
    // a manifest pointing outside the run's shard directory, or listing too few files
    const enc = (shards: unknown) => encodeCheckpoint({ meta: meta('best'), state: { ...dense(), m: E, v: E }, shards: shards as ShardSet });
    assert.throws(() => decodeCheckpoint(enc({ ...set, dir: 'ckpt-shards/../../etc' }), 'x.cmck'), /x\.cmck: corrupted checkpoint \(shards\.dir/);
    assert.throws(() => decodeCheckpoint(enc({ ...set, files: set.files.slice(1) }), 'x.cmck'), /shards\.files does not list 2 files/);
    assert.throws(() => decodeCheckpoint(enc({ ...set, arrays: ['table', 'tableM'] }), 'x.cmck'), /'best' checkpoint's shards hold table, tableM/);
    assert.throws(() => validateShardSet(null, 'y.cmck', 'train'), /y\.cmck: corrupted checkpoint \(shards is null\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
