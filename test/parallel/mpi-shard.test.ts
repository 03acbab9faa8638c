import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Compactor, gatherRows, planRequests, readOwnedRows, scatterRows, shardRows } from '../../src/parallel/mpi/shard.js';
import { BIN } from '../cli/train-fixture.js';

test('shardRows: the shards of every rank count cover the table once, sizes differ by at most 1', () => {
  for (const rows of [0, 1, 7, 100, 101]) {
    for (const size of [1, 2, 3, 8]) {
      const s = Array.from({ length: size }, (_, u) => shardRows(rows, size, u));
      assert.equal(s.reduce((a, b) => a + b, 0), rows, `${rows} rows over ${size}`);
      assert.ok(Math.max(...s) - Math.min(...s) <= 1);
      // rank u's last local row k holds global row k·size + u, inside the table
      s.forEach((n, u) => n > 0 && assert.ok((n - 1) * size + u < rows));
    }
  }
});

test('planRequests groups the rows by owner (row mod N), ascending within each, and keeps where each came from', () => {
  const unique = Int32Array.from([1, 2, 4, 5, 9, 12, 13]);
  const p = planRequests(unique, 3);
  assert.deepEqual([...p.counts], [2, 3, 2]);
  assert.deepEqual([...p.displs], [0, 2, 5]);
  assert.deepEqual([...p.ids], [9, 12, 1, 4, 13, 2, 5]);
  for (let s = 0; s < p.ids.length; s++) assert.equal(unique[p.order[s]], p.ids[s]);
});

test('Compactor: unique rows ascending, ids as 1 + their position among them, padding 0; reused across calls; bad rows throw', () => {
  const c = new Compactor(100);
  const f = new Int32Array(4), q = new Int32Array(6);
  const u = c.compact([Int32Array.from([20, 0, 3, 8]), Int32Array.from([8, 0, 3, 99, 20, 20])], [f, q]);
  assert.deepEqual([...u], [3, 8, 20, 99]);
  assert.deepEqual([...f], [3, 0, 1, 2]);
  assert.deepEqual([...q], [2, 0, 1, 4, 3, 3]);
  // a second, larger call on the same buffers starts clean
  const ids = Int32Array.from({ length: 300 }, (_, i) => (i * 37) % 97);
  const out = new Int32Array(300);
  const u2 = c.compact([ids], [out]);
  assert.deepEqual([...u2], Array.from({ length: 96 }, (_, i) => i + 1));
  for (let i = 0; i < ids.length; i++) assert.equal(out[i], ids[i]);
  assert.throws(() => c.compact([Int32Array.from([100])], [new Int32Array(1)]), /row 100 outside/);
  assert.throws(() => c.compact([Int32Array.from([-1])], [new Int32Array(1)]), /row -1 outside/);
});

test('readOwnedRows reads global rows from their owner\'s shard (local row = row div N)', () => {
  // rank 1 of 2 owns rows 1, 3, 5: its shard holds them at local rows 0, 1, 2 (dim 2)
  const shard = Float32Array.from([10, 11, 30, 31, 50, 51]);
  const out = new Float32Array(8).fill(-1);
  readOwnedRows(shard, 2, 2, Int32Array.from([0, 5, 1]), 1, 2, out, 1);
  assert.deepEqual([...out], [-1, -1, 50, 51, 10, 11, -1, -1]);
});

test('scatterRows places rows k at at[k] + shift; gatherRows reads them back', () => {
  const src = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const dst = new Float32Array(10);
  scatterRows(src, Int32Array.from([3, 0, 1]), 1, 2, dst);
  assert.deepEqual([...dst], [0, 0, 3, 4, 5, 6, 0, 0, 1, 2]);
  const back = new Float32Array(6);
  gatherRows(dst, Int32Array.from([4, 1, 2]), 2, back);
  assert.deepEqual([...back], [1, 2, 3, 4, 5, 6]);
});

test('--transport mpi without the MPI addon fails on one line saying what to install', () => {
  // CMDCM_NO_MPI=1 makes a built MPI addon count as absent, as on a machine that built without MPI
  const r = spawnSync(process.execPath, [BIN, 'train', '--data', '/nonexistent', '--model', 'cmdcm', '--out', '/tmp/none', '--transport', 'mpi'], {
    encoding: 'utf8', env: { ...process.env, CMDCM_NO_MPI: '1', CMDCM_LOG_LEVEL: 'silent' }, timeout: 60_000,
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--transport mpi: this cmdcm was built without MPI.*apt-get install libopenmpi-dev openmpi-bin/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});
