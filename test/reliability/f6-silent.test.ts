/**
 * Issue 13, finding 6 (silent oddities): each case now warns, or is refused, instead of training
 * silently wrong or rewriting a run: historical promotions with no samples or no delayed buys, a log
 * given twice, --resume of a finished run, metrics lines repeated after a resume, a schema that does
 * not match its fingerprint, a shard path outside the dataset, binary input echoed with its control
 * bytes, a long file with no newline called "blank". (Checkpoint cursor and RNG range checks are
 * in f4-user-errors.)
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertNoStack, assertNoTemps, assertUserError, cmdcm, cmdcmIn, copyTree, ok, snapshot, tinyDataset, tinyRun, warnings } from './helpers.js';

const S = await tinyDataset();
after(() => rmSync(S.dir, { recursive: true, force: true }));
const { run, config } = await tinyRun(S.dir, S.data);

test('historical promotions with no samples or no delayed buys are warned about', async () => {
  const rows = ['user_id,item_id,behavior_type,user_geohash,item_category,time', '1,10,3,,5,2014-10-20 10'];
  for (const d of ['05', '06', '07', '08', '09', '10']) rows.push(`1,10,1,,5,2014-11-${d} 10`, `2,11,1,,5,2014-11-${d} 11`, `1,10,3,,5,2014-11-${d} 12`);
  for (const d of ['06', '07', '08', '09', '10', '11']) rows.push(`1,10,1,,5,2014-12-${d} 10`, `2,12,1,,5,2014-12-${d} 10`);
  // the only promotion-day buy of 11-11 is by a user who clicked nothing before it
  rows.push('1,10,4,,5,2014-12-12 10', '3,10,4,,5,2014-11-11 10');
  const log = join(S.dir, 'hand.csv');
  writeFileSync(log, rows.join('\n') + '\n');
  const r = ok(await cmdcmIn(['prepare', '--log', log, '--promo', '2014-10-25:3', '--promo', '2014-11-11:5', '--promo', '2014-12-12:5', '--out', join(S.dir, 'hand-ds')]), 'prepare');
  const w = warnings(r).join('\n');
  assert.match(w, /historical promotion 2014-10-25:3 has no samples \(no clicks in its 3-day pre-window in the log\)/);
  assert.match(w, /historical promotion 2014-11-11:5 has 10 samples but no delayed buys/);
  assert.match(w, /no historical promotion has a delayed buy/);
  // a healthy generated dataset gives none of these
  const g = ok(await cmdcmIn(['prepare', '--log', S.log, '--promo', 'auto', '--out', join(S.dir, 'healthy')]), 'prepare');
  assert.deepEqual(warnings(g), []);
});

test('the same log given twice (same path, a symlink, or a byte-identical copy) is warned about', async () => {
  const link = join(S.dir, 'log-link.csv'), copy = join(S.dir, 'log-copy.csv');
  symlinkSync(S.log, link);
  copyFileSync(S.log, copy);
  for (const [second, re] of [[S.log, /is the same file as --log/], [link, /is the same file as --log/], [copy, /looks like a copy of --log .*events would count twice/]] as const) {
    const r = ok(await cmdcmIn(['prepare', '--log', S.log, '--log', second, '--promo', '2014-11-11:10', '--promo', '2014-12-12:10', '--out', join(S.dir, 'twice')]), 'prepare');
    assert.match(warnings(r).join('\n'), re);
  }
});

test('--resume --epochs 3 of a finished run warns and changes nothing (config.json, checkpoints, metrics)', async () => {
  const r = copyTree(run, join(S.dir, 'finished'));
  const before = snapshot(r);
  const res = await cmdcmIn(['train', '--data', S.data, '--model', 'esmm', '--out', r, '--resume', '--epochs', '3']);
  assert.equal(res.code, 0, res.stderr);
  assert.match(warnings(res).join('\n'), /the run in .*finished already finished at step \d+ \(all 1 epochs done\); --resume has nothing to do and left it unchanged/);
  const after = snapshot(r);
  delete after['train.log'];
  delete before['train.log'];
  assert.deepEqual(after, before);
  assertNoTemps(r);
});

test('steps logged after the checkpoint resumed from appear once in metrics.jsonl', async () => {
  const r = join(S.dir, 'dup-metrics');
  ok(await cmdcmIn(['train', '--data', S.data, '--model', 'esmm', '--out', r, '--config', config, '--batch-size', '32', '--max-steps', '7', '--checkpoint-every', '3', '--epochs', '3']), 'train');
  // a crash after step 7 was logged but before its checkpoint: latest is the step-6 one
  copyFileSync(join(r, 'ckpt-prev.cmck'), join(r, 'ckpt-latest.cmck'));
  ok(await cmdcmIn(['train', '--data', S.data, '--model', 'esmm', '--out', r, '--resume', '--max-steps', '10']), 'resume');
  const steps = readFileSync(join(r, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((o) => o.type === 'step').map((o) => o.step);
  assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

test('a run whose schema does not match its own fingerprint is refused before any allocation', async () => {
  for (const [name, edit, re] of [
    ['seqlen', (c: any) => { c.schema.seqLen = 20000; }, /config\.json: schema "seqLen" must be an integer in \[1, 1000\], got 20000/],
    ['renamed', (c: any) => { c.schema.dense[0] = 'renamed'; }, /config\.json: the schema does not match its fingerprint/],
  ] as const) {
    const r = copyTree(run, join(S.dir, `fp-${name}`));
    const c = JSON.parse(readFileSync(join(r, 'config.json'), 'utf8'));
    edit(c);
    writeFileSync(join(r, 'config.json'), JSON.stringify(c));
    assertUserError(await cmdcmIn(['eval', '--run', r]), 1, re);
    assertUserError(await cmdcmIn(['predict', '--run', r, '--data', S.data, '--out', join(S.dir, 'x.csv')]), 1, re);
  }
});

test('a meta.json shard path outside the dataset is refused naming meta.json', async () => {
  const d = copyTree(S.data, join(S.dir, 'escape'));
  const m = JSON.parse(readFileSync(join(d, 'meta.json'), 'utf8'));
  m.shards[m.shards.length - 1].file = '/etc/hostname';
  writeFileSync(join(d, 'meta.json'), JSON.stringify(m));
  assertUserError(await cmdcmIn(['train', '--data', d, '--model', 'esmm', '--out', join(S.dir, 'escape-run')]), 1, /escape\/meta\.json: shards\[\d+\]\.file '\/etc\/hostname' is not a file inside .*escape\/shards/);
});

test('binary input is named without echoing its control bytes; a long line-less file is not called blank', () => {
  const bin = join(S.dir, 'evil.csv');
  writeFileSync(bin, Buffer.concat([Buffer.from('\x1b[2J\x1b]0;pwned\x07,\x1b[31mred,x\r\n'), Buffer.from([0, 1, 2, 3, 0x9b, 0x1b, 0x0a])]));
  for (const cmd of [['inspect', bin], ['prepare', '--log', bin, '--promo', '2014-12-12:10', '--out', join(S.dir, 'evil-ds')]]) {
    const r = cmdcm(cmd);
    assertNoStack(r);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
    assert.doesNotMatch(r.stderr.replace(/\n$/, ''), /[\x00-\x1f\x7f]/, 'no control byte reaches the terminal');
    assert.match(r.stderr, /evil\.csv: /);
  }
  // a text line with escape sequences is shown escaped
  const esc = join(S.dir, 'esc.csv');
  writeFileSync(esc, 'a\x1b[31m,b,c\nd,e,f\n');
  const r = cmdcm(['inspect', esc]);
  assert.match(r.stderr, /a\\x1b\[31m,b,c/);
  const flat = join(S.dir, 'flat.csv');
  writeFileSync(flat, 'x'.repeat(1 << 20));
  assertUserError(cmdcm(['inspect', flat]), 1, /flat\.csv: no line break in its first \d+ KB: not a line-by-line CSV log/);
  const empty = join(S.dir, 'empty.csv');
  writeFileSync(empty, '');
  assertUserError(cmdcm(['inspect', empty]), 1, /empty\.csv: (the )?file is empty/);
});
