/**
 * Fuzz of the file readers cmdcm owns (issue 13): mutated and truncated copies of a real
 * checkpoint, shard, meta.json and config.json, each read the way cmdcm reads it (decode, validate,
 * then the consumer: packing sequences, gathering a batch, checking the checkpoint against the
 * model). Every case must either succeed or throw a CmdcmError that names the file; any other
 * exception (a TypeError, a RangeError from the addon) or a crash fails the test with its case
 * number and seed. Deterministic: FUZZ_SEED (default 13) and FUZZ_CASES (per reader) reproduce a run.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';
import { CmdcmError } from '../../src/util/errors.js';
import { decodeCheckpoint } from '../../src/train/checkpoint.js';
import { checkCheckpointFor } from '../../src/train/validate.js';
import { readRunConfig } from '../../src/train/run-dir.js';
import { schemaFingerprint } from '../../src/train/fingerprint.js';
import { decodeShard, encodeShard, type Column } from '../../src/data/shards.js';
import { validateShardColumns } from '../../src/data/validate.js';
import { openDataset } from '../../src/data/dataset.js';
import { packChunk } from '../../src/data/sequences.js';
import { resolutionSeconds } from '../../src/data/types.js';
import { gatherBatch } from '../../src/features/gather.js';
import { copyTree, ok, cmdcmIn, tinyDataset, TINY_MODEL } from './helpers.js';

const SEED = Number(process.env.FUZZ_SEED ?? 13);
const CASES = Number(process.env.FUZZ_CASES ?? 2500);

/** mulberry32: a seeded stream, so a failing case can be replayed from its number. */
function rngOf(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(a: readonly T[]) => a[Math.floor(next() * a.length)] };
}
type Rng = ReturnType<typeof rngOf>;

const S = await tinyDataset(3);
after(() => rmSync(S.dir, { recursive: true, force: true }));
const cfgFile = join(S.dir, 'fuzz.json');
writeFileSync(cfgFile, JSON.stringify({ model: TINY_MODEL, train: { batchSize: 64, epochs: 1, checkpointEvery: 2 } }));
const RUN = join(S.dir, 'run');
ok(await cmdcmIn(['train', '--data', S.data, '--model', 'esmm', '--out', RUN, '--config', cfgFile, '--max-steps', '3']), 'train');
const ds = await openDataset(S.data);
const runCfg = readRunConfig(RUN);

/** Values a mutation may put anywhere in a JSON or msgpack tree. */
const PALETTE: unknown[] = [null, -1, 0, 1, 1.5, -0.5, 2 ** 31, 2 ** 53, 1e300, -1e300, '', 'abc', '../../etc/passwd', true, false, [], {}, [1, 2, 3],
  { __proto__x: 1 }, JSON.parse('{"__proto__": {"polluted": 1}}'), JSON.parse('{"constructor": 1}'), 'x'.repeat(3000), [null], { file: 'shards/p0-0000.bin', n: 1, promo: 0 }];

function randomValue(r: Rng, typed: boolean): unknown {
  if (typed && r.next() < 0.2) return new Uint8Array(r.pick([0, 1, 3, 4, 8, 64, 4096]));
  return structuredClone(r.pick(PALETTE));
}

/** Replace, delete or add one node somewhere in `root` (a deep copy is mutated and returned). */
function mutateTree<T>(root: T, r: Rng, typed = false): T {
  const copy = (typed ? root : structuredClone(root)) as unknown;
  const holder = { v: copy } as Record<string, unknown>;
  let parent: Record<string, unknown> | unknown[] = holder, key: string | number = 'v';
  // walk down a random path, stopping at a random depth
  for (let depth = 0; depth < 8; depth++) {
    const cur: unknown = (parent as Record<string | number, unknown>)[key];
    if (typeof cur !== 'object' || cur === null || ArrayBuffer.isView(cur) || r.next() < 0.2) break;
    const keys: (string | number)[] = Array.isArray(cur) ? cur.map((_, i) => i) : Object.keys(cur);
    if (keys.length === 0) break;
    parent = cur as Record<string, unknown>;
    key = r.pick(keys);
  }
  const p = parent as Record<string | number, unknown>;
  // the root itself is only ever replaced (a file holding `5` or `null`), never deleted
  const op = p === holder ? 3 : r.int(4);
  if (op === 0 && !Array.isArray(p)) delete p[key];
  else if (op === 1 && Array.isArray(p)) p.length = r.int(p.length + 1);
  else if (op === 2 && !Array.isArray(p)) p[`extra${r.int(3)}`] = randomValue(r, typed);
  else p[key] = randomValue(r, typed);
  return holder.v as T;
}

function truncate(b: Uint8Array, r: Rng): Uint8Array {
  return b.subarray(0, r.int(b.length));
}

function flipBytes(b: Uint8Array, r: Rng, from = 0): Uint8Array {
  const c = new Uint8Array(b);
  const k = 1 + r.int(8);
  for (let i = 0; i < k; i++) {
    const at = from + r.int(Math.max(1, c.length - from));
    c[at] = r.next() < 0.5 ? r.int(256) : c[at] ^ (1 << r.int(8));
  }
  return c;
}

interface Outcome { ok: number; refused: number }

/** One case: success, or a CmdcmError naming one of `names`; anything else is recorded. */
async function runCase(outcome: Outcome, failures: string[], label: string, names: string[], f: () => unknown): Promise<void> {
  try {
    await f();
    outcome.ok++;
  } catch (e) {
    if (e instanceof CmdcmError && names.some((n) => e.message.includes(n))) outcome.refused++;
    else failures.push(`${label}: ${e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 300) : String(e)}`);
  }
}

function report(name: string, o: Outcome, failures: string[]) {
  // the counts go to the test log (the report's figures come from here)
  console.log(JSON.stringify({ fuzz: name, seed: SEED, cases: o.ok + o.refused + failures.length, accepted: o.ok, refused: o.refused, failures: failures.length }));
  assert.deepEqual(failures.slice(0, 10), [], `${failures.length} cases ended in something other than a CmdcmError naming the file (FUZZ_SEED=${SEED})`);
}

test('fuzz: checkpoints (byte flips, truncation, re-framed body mutations, structural msgpack mutations)', { timeout: 120_000 }, async () => {
  const path = join(RUN, 'ckpt-latest.cmck');
  const real = new Uint8Array(readFileSync(path));
  const packr = new Packr({ useRecords: false, moreTypes: false });
  const body = packr.unpack(real.subarray(24)) as Record<string, unknown>;
  const reframe = (b: Uint8Array) => {
    const out = new Uint8Array(24 + b.length);
    out.set(real.subarray(0, 12));
    const dv = new DataView(out.buffer);
    dv.setUint32(12, crc32(b) >>> 0, true);
    dv.setBigUint64(16, BigInt(b.length), true);
    out.set(b, 24);
    return out;
  };
  const model = { params: 0, dim: 0 };
  {
    // the model's sizes as the trainer checks them: from the real checkpoint, which is right
    const ck = decodeCheckpoint(real, path);
    model.params = ck.state.params.length;
    model.dim = ck.meta.dim;
  }
  const r = rngOf(SEED);
  const o: Outcome = { ok: 0, refused: 0 }, failures: string[] = [];
  for (let i = 0; i < CASES; i++) {
    const kind = i % 4;
    let bytes: Uint8Array;
    if (kind === 0) bytes = flipBytes(real, r);
    else if (kind === 1) bytes = truncate(real, r);
    else if (kind === 2) bytes = reframe(flipBytes(real.subarray(24), r));
    else {
      const tree = structuredClone(body);
      bytes = reframe(packr.pack(mutateTree(tree, r, true)));
    }
    await runCase(o, failures, `checkpoint case ${i} (kind ${kind})`, [path], () => {
      const ck = decodeCheckpoint(bytes, path);
      checkCheckpointFor(ck, path, {
        model: runCfg.model, schemaFingerprint: runCfg.schemaFingerprint, params: model.params, dim: model.dim, tableRows: runCfg.schema.tableRows,
        train: { tableOptimizer: runCfg.train.tableOptimizer, stepsPerEpoch: 1e6 },
      });
      // what the optimizer then reads: every moment the size of its parameters
      assert.equal(ck.state.m.length, ck.state.params.length);
    });
  }
  report('checkpoint', o, failures);
});

test('fuzz: shards (byte flips, truncation, header and column mutations), decoded, validated and packed', { timeout: 120_000 }, async () => {
  const entry = ds.meta.shards.find((s) => s.test)!;
  const path = join(S.data, entry.file);
  const real = new Uint8Array(readFileSync(path));
  const { attrs, columns } = decodeShard(real, path);
  const hlen = new DataView(real.buffer, real.byteOffset).getUint32(12, true);
  const schema = ds.schema, res = resolutionSeconds(ds.meta.resolution), L = schema.seqLen;
  const r = rngOf(SEED + 1);
  const o: Outcome = { ok: 0, refused: 0 }, failures: string[] = [];
  for (let i = 0; i < CASES; i++) {
    const kind = i % 5;
    let bytes: Uint8Array;
    if (kind === 0) bytes = flipBytes(real, r, 16 + hlen);
    else if (kind === 1) bytes = truncate(real, r);
    else if (kind === 2) bytes = flipBytes(real, r, 8).subarray(0, real.length);
    else if (kind === 3) {
      // a header mutated (lengths, dtypes, names), the columns as they were
      const head = JSON.parse(Buffer.from(real.subarray(16, 16 + hlen)).toString('utf8'));
      const json = Buffer.from(JSON.stringify(mutateTree(head, r)));
      const pad = Math.ceil((16 + json.length) / 8) * 8 - 16;
      const out = Buffer.alloc(16 + pad, 0x20);
      Buffer.from(real.subarray(0, 12)).copy(out);
      out.writeUInt32LE(pad, 12);
      json.copy(out, 16);
      bytes = Buffer.concat([out, real.subarray(16 + hlen)]);
    } else {
      // plausible columns with hostile values: a random column, random positions, extreme values
      const cols: Record<string, Column> = Object.fromEntries(Object.entries(columns).map(([k, v]) => [k, v.slice()]));
      const name = r.pick(Object.keys(cols));
      const a = cols[name];
      if (r.next() < 0.2) cols[name] = a.subarray(0, r.int(a.length + 1)) as Column;
      else for (let k = 0; k < 1 + r.int(4) && a.length > 0; k++) a[r.int(a.length)] = r.pick([-1, 0, 1, 7, 255, 2 ** 31 - 1, -(2 ** 31), 1e9, NaN]);
      bytes = encodeShard({ attrs, columns: cols });
    }
    await runCase(o, failures, `shard case ${i} (kind ${kind})`, [path], () => {
      const c = decodeShard(bytes, path).columns;
      validateShardColumns(c, schema, entry, ds.meta.counts, path);
      const n = entry.n;
      packChunk(c, schema, res, new Int32Array(n * L * 4), new Int32Array(n), 0);
    });
  }
  report('shard', o, failures);
});

test('fuzz: meta.json (structural mutations and truncation), opened and loaded as train/eval do', { timeout: 120_000 }, async () => {
  const dir = copyTree(S.data, join(S.dir, 'fuzz-ds'));
  const metaPath = join(dir, 'meta.json');
  const text = readFileSync(join(S.data, 'meta.json'), 'utf8');
  const meta = JSON.parse(text);
  const r = rngOf(SEED + 2);
  const o: Outcome = { ok: 0, refused: 0 }, failures: string[] = [];
  const n = Math.max(1, Math.round(CASES * 0.6));
  for (let i = 0; i < n; i++) {
    const t = i % 5 === 0 ? text.slice(0, r.int(text.length)) : JSON.stringify(mutateTree(meta, r));
    writeFileSync(metaPath, t);
    // a message may name meta.json or one of the shards it lists
    await runCase(o, failures, `meta.json case ${i}`, [metaPath, join(dir, 'shards')], async () => {
      const d = await openDataset(dir);
      for (const split of ['test', 'valid'] as const) {
        const cols = await d.load(split, { lazySequences: true });
        const take = Math.min(cols.n, 8);
        if (take > 0) gatherBatch(d.schema, cols, Int32Array.from({ length: take }, (_, k) => k));
      }
    });
  }
  report('meta.json', o, failures);
});

test('fuzz: config.json (structural mutations and truncation), read as eval/predict/--resume do', { timeout: 120_000 }, async () => {
  const dir = copyTree(RUN, join(S.dir, 'fuzz-run'));
  const p = join(dir, 'config.json');
  const text = readFileSync(join(RUN, 'config.json'), 'utf8');
  const cfg = JSON.parse(text);
  const r = rngOf(SEED + 3);
  const o: Outcome = { ok: 0, refused: 0 }, failures: string[] = [];
  const n = Math.max(1, Math.round(CASES * 0.8));
  for (let i = 0; i < n; i++) {
    writeFileSync(p, i % 5 === 0 ? text.slice(0, r.int(text.length)) : JSON.stringify(mutateTree(cfg, r)));
    await runCase(o, failures, `config.json case ${i}`, [p], () => {
      const rc = readRunConfig(dir);
      // what passes is safe to use: a schema that is its fingerprint's, a positive eval batch
      assert.equal(schemaFingerprint(rc.schema), rc.schemaFingerprint);
      assert.ok(Number.isInteger(rc.train.evalBatchSize) && rc.train.evalBatchSize > 0);
    });
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was polluted');
  report('config.json', o, failures);
});
