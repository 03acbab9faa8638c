/**
 * Issue 13, finding 4 ("internal error" with a stack trace for plain user situations): a full disk,
 * a read-only --out, --out naming a file or a directory, an unwritable run for eval, crafted or
 * mismatched checkpoints, crafted shards and meta.json, a config.json holding null or prototype
 * keys. Each is now one line naming the file and what to do, exit 1 or 2, no stack, no temp left.
 * File-system failures the test machine cannot produce (it runs as root on a roomy disk) are
 * injected at the fs.promises / FileHandle layer with Node's own error shape.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';
import { spawnSync } from 'node:child_process';
import { BIN } from '../cli/train-fixture.js';
import { encodeCheckpoint, readCheckpoint } from '../../src/train/checkpoint.js';
import { writeFileAtomic } from '../../src/util/atomic.js';
import { encodeShard, readShard } from '../../src/data/shards.js';
import { CmdcmError } from '../../src/util/errors.js';
import { assertNoTemps, assertUserError, cmdcmIn, copyTree, errno, listTree, snapshot, tinyDataset, tinyRun, warnings } from './helpers.js';

const S = await tinyDataset();
after(() => rmSync(S.dir, { recursive: true, force: true }));
const { run, config } = await tinyRun(S.dir, S.data);

type FH = { writev: (...a: unknown[]) => unknown; writeFile: (...a: unknown[]) => unknown };
const probe = await fsp.open(S.log, 'r');
const FileHandleProto = Object.getPrototypeOf(probe) as FH;
await probe.close();

/** Run `f` with `obj[key]` replaced; always restored. */
async function patched<T, O extends object>(obj: O, key: keyof O, impl: unknown, f: () => Promise<T>): Promise<T> {
  const orig = obj[key];
  (obj as Record<keyof O, unknown>)[key] = impl;
  try { return await f(); } finally { (obj as Record<keyof O, unknown>)[key] = orig; }
}

test('disk full while prepare writes shards: one line naming the shard and "no space", the old dataset intact, no temp dir', async () => {
  const before = snapshot(S.data);
  const r = await patched(FileHandleProto, 'writev', async () => { throw errno('ENOSPC', 'write'); },
    () => cmdcmIn(['prepare', '--log', S.log, '--promo', 'auto', '--out', S.data]));
  // (whichever shard is written first: the promotions' buffers are flushed concurrently)
  assertUserError(r, 1, /shards\/p\d+t?-\d{4}\.bin: cannot write the shard: no space left on the device: free some space or choose a directory on another disk \(ENOSPC\)/);
  assert.deepEqual(snapshot(S.data), before);
  assertNoTemps(S.dir);
});

test('disk full while train writes a checkpoint or best.cmck: one line naming it, the earlier files kept, no temp file', async () => {
  // config.json (a string) still goes through; the binary checkpoints fail
  const orig = FileHandleProto.writeFile;
  const fresh = join(S.dir, 'enospc-fresh');
  const r = await patched(FileHandleProto, 'writeFile', function (this: unknown, data: unknown, ...rest: unknown[]) {
    if (data instanceof Uint8Array) throw errno('ENOSPC', 'write');
    return orig.call(this, data, ...rest);
  }, () => cmdcmIn(['train', '--data', S.data, '--model', 'esmm', '--out', fresh, '--config', config]));
  assertUserError(r, 1, /(ckpt-latest|best)\.cmck: cannot write the file: no space left on the device.*\(ENOSPC\)/);
  assertNoTemps(fresh);
});

test('a read-only --out (EACCES on mkdir) and EROFS: one line with the path and what to do', async () => {
  for (const code of ['EACCES', 'EROFS']) {
    const out = join(S.dir, `ro-${code}`, 'ds');
    const r = await patched(fsp, 'mkdir', async (p: string) => { throw errno(code, 'mkdir', p); },
      () => cmdcmIn(['prepare', '--log', S.log, '--promo', 'auto', '--out', out]));
    assertUserError(r, 1, code === 'EACCES' ? /ro-EACCES: cannot create the parent directory of --out: permission denied: choose a directory you can write to/ : /read-only: choose a writable directory \(EROFS\)/);
  }
  assertNoTemps(S.dir);
});

test('train --out an existing file (EEXIST before) is refused on one line', async () => {
  const f = join(S.dir, 'a-file');
  writeFileSync(f, 'keep');
  assertUserError(await cmdcmIn(['train', '--data', S.data, '--model', 'esmm', '--out', f]), 2, /a-file exists and is a file, not a run directory/);
  assert.equal(readFileSync(f, 'utf8'), 'keep');
});

test('predict --out a directory is refused before the work; writeFileAtomic removes its temp file when the rename fails', async () => {
  const d = join(S.dir, 'outdir');
  mkdirSync(d);
  assertUserError(await cmdcmIn(['predict', '--run', run, '--data', S.data, '--out', d]), 2, /--out: .*outdir is a directory; give a file path/);
  assert.deepEqual(listTree(d), []);
  await assert.rejects(writeFileAtomic(d, 'x'.repeat(1000)), (e: Error) => e instanceof CmdcmError && /outdir: cannot write the file: it is a directory: give a file path \(EISDIR\)/.test(e.message));
  assertNoTemps(S.dir);
});

test('eval on a run it cannot write to still prints its metrics, with a warning', async () => {
  const origOpen = fsp.open;
  const r = await patched(fsp, 'open', async (p: string, flags: string, ...rest: unknown[]) => {
    if (String(p).startsWith(run) && flags === 'w') throw errno('EACCES', 'open', String(p));
    return (origOpen as (...a: unknown[]) => unknown)(p, flags, ...rest);
  }, () => cmdcmIn(['eval', '--run', run]));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\| task \| n \| positives \| AUC/);
  assert.match(r.stderr, /warning: the report was not saved in the run directory: .*eval\.json: cannot write the file: permission denied/);
});

const packr = new Packr({ useRecords: false, moreTypes: false });
function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(24 + body.length);
  const dv = new DataView(out.buffer);
  out.set(Buffer.from('CMDCMCKP', 'latin1'), 0);
  dv.setUint32(8, 1, true);
  dv.setUint32(12, crc32(body) >>> 0, true);
  dv.setBigUint64(16, BigInt(body.length), true);
  out.set(body, 24);
  return out;
}

test('checkpoints with a valid frame but no state, short moments (best.cmck over latest), or "step": "abc": fallback to ckpt-prev, else one line', async () => {
  const good = await readCheckpoint(join(run, 'ckpt-latest.cmck'));
  const cases: [string, Uint8Array | 'best', RegExp][] = [
    ['nostate', frame(packr.pack({ hello: 1 })), /corrupted checkpoint \(no meta, state or arrays\)/],
    ['best', 'best', /a 'best' checkpoint \(no optimizer state\) cannot be resumed from; was best\.cmck copied over it\?/],
    ['step', encodeCheckpoint({ meta: good.meta, state: { ...good.state, step: 'abc' as never } }), /corrupted checkpoint \(step "abc"/],
    ['short-m', encodeCheckpoint({ meta: good.meta, state: { ...good.state, m: good.state.m.subarray(1) } }), /optimizer moments m\/v hold/],
    ['cursor', encodeCheckpoint({ meta: good.meta, state: { ...good.state, cursor: 10 ** 6 } }), /data cursor 1000000 is past the \d+ batches of an epoch/],
    ['rng', encodeCheckpoint({ meta: good.meta, state: { ...good.state, rng: [0, 0, 0, 0] } }), /rng is not an RNG state/],
  ];
  for (const [name, bytes, why] of cases) {
    const r = copyTree(run, join(S.dir, `ck-${name}`));
    if (bytes === 'best') copyFileSync(join(r, 'best.cmck'), join(r, 'ckpt-latest.cmck'));
    else writeFileSync(join(r, 'ckpt-latest.cmck'), bytes);
    // with ckpt-prev: a warning naming the bad file, and the run goes on from prev
    const res = await cmdcmIn(['train', '--data', S.data, '--model', 'esmm', '--out', r, '--resume', '--epochs', '2']);
    assert.equal(res.code, 0, `${name}: ${res.stderr}`);
    assert.match(warnings(res).join('\n'), new RegExp(`ckpt-latest\\.cmck: .*${why.source}.*; resuming from the previous checkpoint`), name);
    // without it: one line, exit 1
    const r2 = copyTree(run, join(S.dir, `ck2-${name}`));
    if (bytes === 'best') copyFileSync(join(r2, 'best.cmck'), join(r2, 'ckpt-latest.cmck'));
    else writeFileSync(join(r2, 'ckpt-latest.cmck'), bytes);
    rmSync(join(r2, 'ckpt-prev.cmck'));
    assertUserError(await cmdcmIn(['train', '--data', S.data, '--model', 'esmm', '--out', r2, '--resume']), 1, why);
    assertNoTemps(r2);
  }
});

test('crafted shards and meta.json entries: the message names the file (shard or meta.json)', async () => {
  const meta = JSON.parse(readFileSync(join(S.data, 'meta.json'), 'utf8'));
  // a shard of the target promotion: eval reads the test split
  const shardFile = meta.shards.find((x: { test: boolean }) => x.test).file as string;
  const { attrs, columns } = await readShard(join(S.data, shardFile));
  const shardCases: [string, (c: Record<string, Int32Array | Float32Array | Uint8Array>) => void, RegExp][] = [
    ['evStart decreasing', (c) => { (c.evStart as Int32Array)[1] = -5; }, /column 'evStart' (decreases|must run)/],
    ['field row past the table', (c) => { (c.fields as Int32Array)[0] = 1e9; }, /column 'fields' value 1000000000 at 0 is outside/],
    ['user past the vocabulary', (c) => { (c.user as Int32Array)[0] = 1e6; }, /column 'user' value 1000000 at 0 is outside/],
    ['column missing', (c) => { delete c.labels; }, /column 'labels' is missing/],
    ['short column', (c) => { c.time = (c.time as Int32Array).subarray(1); }, /column 'time' holds \d+ values, expected/],
    ['NaN dense', (c) => { (c.dense as Float32Array)[0] = NaN; }, /column 'dense' holds NaN/],
  ];
  for (const [name, mutate, why] of shardCases) {
    const d = copyTree(S.data, join(S.dir, `shard-${name.replace(/ /g, '-')}`));
    const cols = Object.fromEntries(Object.entries(columns).map(([k, v]) => [k, v.slice()]));
    mutate(cols);
    writeFileSync(join(d, shardFile), encodeShard({ attrs, columns: cols }));
    const line = assertUserError(await cmdcmIn(['eval', '--run', run, '--data', d]), 1, why);
    assert.ok(line.includes(join(d, shardFile)), `${name}: names the shard: ${line}`);
  }
  const metaCases: [string, (m: Record<string, any>) => void, RegExp][] = [
    ['shard outside', (m) => { m.shards[0].file = '../../../etc/passwd'; }, /shards\[0\]\.file '\.\.\/\.\.\/\.\.\/etc\/passwd' is not a file inside/],
    ['target out of range', (m) => { m.target = 7; }, /"target" must be an index into the \d promotions/],
    ['counts disagree', (m) => { m.counts.samples += 1; }, /"counts\.samples" is \d+ but the shards hold/],
    ['seqLen huge', (m) => { m.schema.seqLen = 20000; }, /schema "seqLen" must be an integer in \[1, 1000\]/],
    ['proto key', (m) => { m.schema.__proto__x = 1; m.counts = JSON.parse('{"__proto__": {"x": 1}}'); }, /the key "__proto__" is not allowed/],
  ];
  for (const [name, mutate, why] of metaCases) {
    const d = copyTree(S.data, join(S.dir, `meta-${name.replace(/ /g, '-')}`));
    const m = JSON.parse(readFileSync(join(d, 'meta.json'), 'utf8'));
    mutate(m);
    writeFileSync(join(d, 'meta.json'), JSON.stringify(m));
    const line = assertUserError(await cmdcmIn(['eval', '--run', run, '--data', d]), 1, why);
    assert.ok(line.includes(join(d, 'meta.json')), `${name}: names meta.json: ${line}`);
  }
});

test('config.json holding null, or a model config with __proto__ / hasOwnProperty keys: one line naming config.json', async () => {
  const cases: [string, (c: Record<string, any>) => unknown, RegExp][] = [
    ['null', () => null, /config\.json: not a cmdcm run config \(it holds null/],
    ['hasOwnProperty', (c) => ({ ...c, modelConfig: { ...c.modelConfig, hasOwnProperty: 1 } }), /the key "hasOwnProperty" is not allowed/],
    ['proto', (c) => JSON.parse(JSON.stringify(c).replace('"modelConfig":{', '"modelConfig":{"__proto__":{"dim":1},')), /the key "__proto__" is not allowed/],
    ['train proto', (c) => JSON.parse(JSON.stringify(c).replace('"train":{', '"train":{"constructor":1,')), /the key "constructor" is not allowed/],
  ];
  for (const [name, make, why] of cases) {
    const r = copyTree(run, join(S.dir, `cfg-${name}`));
    const c = JSON.parse(readFileSync(join(r, 'config.json'), 'utf8'));
    writeFileSync(join(r, 'config.json'), JSON.stringify(make(c)));
    for (const args of [['eval', '--run', r], ['train', '--data', S.data, '--model', 'esmm', '--out', r, '--resume']]) {
      const line = assertUserError(await cmdcmIn(args), 1, why);
      assert.ok(line.includes(join(r, 'config.json')), line);
    }
  }
  // the same keys in a --config or --model-config file the user gives
  const bad = join(S.dir, 'bad-model.json');
  writeFileSync(bad, '{"__proto__": {"dim": 2}}');
  assertUserError(await cmdcmIn(['train', '--data', S.data, '--model', 'esmm', '--out', join(S.dir, 'r-bad'), '--model-config', bad]), 1, /bad-model\.json: the key "__proto__" is not allowed/);
  writeFileSync(bad, JSON.stringify({ train: { hasOwnProperty: 3 } }));
  assertUserError(await cmdcmIn(['train', '--data', S.data, '--model', 'esmm', '--out', join(S.dir, 'r-bad'), '--config', bad]), 1, /bad-model\.json: the key "hasOwnProperty" is not allowed/);
  assert.ok(!existsSync(join(S.dir, 'r-bad')), 'a refused run leaves no directory');
});

test('an internal error prints one line without a stack unless CMDCM_DEBUG=1', () => {
  // a bug inside a command, made in a child process (patching a module here would poison this
  // process's module cache): its stdout throws a TypeError
  const bug = 'data:text/javascript,process.stdout.write=()=>{throw new TypeError("boom")}';
  const run1 = (env: Record<string, string>) => spawnSync(process.execPath, ['--import', bug, BIN, 'inspect', '--help'], { encoding: 'utf8', env: { ...process.env, ...env } });
  const r = run1({});
  assert.equal(r.status, 70);
  assert.equal(r.stderr, 'cmdcm inspect: internal error: TypeError: boom (set CMDCM_DEBUG=1 for the stack trace)\n');
  const d = run1({ CMDCM_DEBUG: '1' });
  assert.equal(d.status, 70);
  assert.match(d.stderr, /^\s+at /m);
});

test('inspect of a dataset directory whose meta.json is null, a number or of the wrong shape: one line naming it', async () => {
  for (const [name, text, re] of [
    ['null', 'null', /meta\.json: not a cmdcm dataset's meta\.json \(it holds null/],
    ['number', '5', /meta\.json: not a cmdcm dataset's meta\.json \(it holds 5/],
    ['counts', '{"formatVersion":3,"counts":5}', /meta\.json: /],
  ] as const) {
    const d = join(S.dir, `inspect-${name}`);
    mkdirSync(d);
    writeFileSync(join(d, 'meta.json'), text);
    assertUserError(await cmdcmIn(['inspect', d]), 1, re);
  }
});

test('CmdcmError carries a stable code for embedding programs', async () => {
  const { CmdcmError, flagError } = await import('../../src/util/errors.js');
  assert.equal(flagError('epochs', 'must be a positive integer').code, 'ERR_CMDCM_FLAG');
  assert.equal(new CmdcmError('x', { exitCode: 2 }).code, 'ERR_CMDCM_USAGE');
  assert.equal(new CmdcmError('x').code, 'ERR_CMDCM');
  const { openDataset } = await import('../../src/data/dataset.js');
  await assert.rejects(openDataset('/nonexistent/cmdcm-ds'), (e: Error & { code?: string }) => e instanceof CmdcmError && e.code === 'ERR_CMDCM');
});
