import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeShard, decodeShard, writeShard, writeShardColumns, readShard, SHARD_VERSION, SHARD_MAGIC } from '../../src/data/shards.js';
import { CmdcmError } from '../../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'cmdcm-shards-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function sample() {
  const a = new Int32Array([1, -2, 2147483647, -2147483648, 0]);
  const b = new Float32Array([0.5, -1e-7, 3.25, NaN, Infinity, 7]);
  const c = new Uint8Array([0, 1, 255]);
  const empty = new Int32Array(0);
  return { attrs: { promo: 3, note: 'x' }, columns: { a, b, c, empty } };
}

test('shard round trip keeps every column bit for bit and the attrs', async () => {
  const s = sample();
  const f = join(dir, 'rt.bin');
  await writeShard(f, s);
  const r = await readShard(f);
  assert.deepEqual(r.attrs, s.attrs);
  assert.deepEqual(Object.keys(r.columns), ['a', 'b', 'c', 'empty']);
  assert.ok(r.columns.a instanceof Int32Array && r.columns.b instanceof Float32Array && r.columns.c instanceof Uint8Array);
  for (const k of ['a', 'b', 'c', 'empty'] as const) {
    const x = s.columns[k], y = r.columns[k];
    assert.deepEqual(Buffer.from(y.buffer, y.byteOffset, y.byteLength), Buffer.from(x.buffer, x.byteOffset, x.byteLength), k);
  }
  // raw layout: magic, version
  const raw = readFileSync(f);
  assert.equal(raw.toString('latin1', 0, 8), SHARD_MAGIC);
  assert.equal(raw.readUInt32LE(8), SHARD_VERSION);
});

test('decoding works from an unaligned buffer', () => {
  const enc = encodeShard(sample());
  const big = Buffer.alloc(enc.length + 3);
  enc.copy(big, 3);
  const r = decodeShard(big.subarray(3), 'x.bin');
  assert.equal((r.columns.a as Int32Array)[2], 2147483647);
});

test('a shard of another version is refused naming the file and both versions', async () => {
  const enc = encodeShard(sample());
  enc.writeUInt32LE(SHARD_VERSION + 1, 8);
  const f = join(dir, 'v2.bin');
  writeFileSync(f, enc);
  await assert.rejects(readShard(f), (e: unknown) => e instanceof CmdcmError && e.message.includes(f)
    && e.message.includes(`version ${SHARD_VERSION + 1}`) && e.message.includes(`reads version ${SHARD_VERSION}`));
});

test('truncated, corrupt and foreign files are refused with the file named', async () => {
  const enc = encodeShard(sample());
  const cases: [string, Buffer, RegExp][] = [
    ['trunc-cols.bin', enc.subarray(0, enc.length - 8), /truncated shard \(columns need/],
    ['trunc-header.bin', enc.subarray(0, 30), /truncated shard \(header needs/],
    ['tiny.bin', enc.subarray(0, 5), /not a cmdcm shard/],
    ['foreign.bin', Buffer.from('user_id,item_id\n1,2\n'), /not a cmdcm shard/],
    ['trailing.bin', Buffer.concat([enc, Buffer.alloc(8)]), /unexpected trailing bytes/],
  ];
  for (const [name, buf, re] of cases) {
    const f = join(dir, name);
    writeFileSync(f, buf);
    await assert.rejects(readShard(f), (e: unknown) => e instanceof CmdcmError && e.message.startsWith(f + ':') && re.test(e.message), name);
  }
  await assert.rejects(readShard(join(dir, 'nope.bin')), /nope\.bin: shard file is missing/);
});

test('writeShardColumns (gathered write from views) produces the same bytes as encodeShard', async () => {
  const s = sample();
  // views into a larger buffer, as prepare hands over
  const big = new Int32Array(100).fill(7);
  big.set(s.columns.a, 10);
  const cols = { ...s.columns, a: big.subarray(10, 10 + s.columns.a.length) };
  const f = join(dir, 'gathered.bin');
  await writeShardColumns(f, { attrs: s.attrs, columns: cols });
  assert.ok(readFileSync(f).equals(encodeShard(s)));
  // many columns: more than one writev batch
  const many: Record<string, Int32Array> = {};
  for (let i = 0; i < 700; i++) many['c' + i] = new Int32Array([i, i + 1, i + 2]);
  const g = join(dir, 'many.bin');
  await writeShardColumns(g, { attrs: {}, columns: many });
  const r = await readShard(g);
  assert.deepEqual(Array.from(r.columns.c699 as Int32Array), [699, 700, 701]);
  assert.ok(readFileSync(g).equals(encodeShard({ attrs: {}, columns: many })));
});
