/**
 * Issue 13, finding 1 (data loss): `prepare --out DIR` replaced DIR whenever it held a file named
 * meta.json. Now cmdcm replaces only a directory it recognises as its own dataset by content, and
 * nothing of the user's inside or beside it is touched.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { assertNoTemps, assertUserError, cmdcmIn, copyTree, listTree, ok, snapshot, tinyDataset } from './helpers.js';

const S = await tinyDataset();
after(() => rmSync(S.dir, { recursive: true, force: true }));
const prep = (out: string) => cmdcmIn(['prepare', '--log', S.log, '--promo', 'auto', '--out', out]);

test('a directory with a foreign meta.json is refused (exit 2) and keeps every file', async () => {
  const d = join(S.dir, 'photos-dir');
  mkdirSync(join(d, 'photos'), { recursive: true });
  writeFileSync(join(d, 'meta.json'), '{"name":"x"}\n');
  writeFileSync(join(d, 'important.txt'), 'keep\n');
  writeFileSync(join(d, 'photos', 'a.jpg'), 'jpeg');
  const before = snapshot(d);
  assertUserError(await prep(d), 2, /photos-dir holds a meta\.json that is not a cmdcm dataset's .*refusing to replace it/);
  assert.deepEqual(snapshot(d), before);
  assertNoTemps(S.dir);
});

test('a meta.json that is not JSON, or JSON null, is not ours either', async () => {
  for (const [name, text] of [['notjson', '{oops'], ['null', 'null'], ['array', '[1,2]']]) {
    const d = join(S.dir, `meta-${name}`);
    mkdirSync(d);
    writeFileSync(join(d, 'meta.json'), text);
    assertUserError(await prep(d), 2, /not a cmdcm dataset's .*refusing to replace it/);
    assert.equal(readFileSync(join(d, 'meta.json'), 'utf8'), text);
  }
});

test('a real cmdcm dataset that also holds a user file (top level or in shards/) is refused', async () => {
  const d = join(S.dir, 'ds-plus');
  ok(await prep(d), 'prepare');
  writeFileSync(join(d, 'notes.txt'), 'mine');
  assertUserError(await prep(d), 2, /ds-plus is a cmdcm dataset but also holds 'notes\.txt', which cmdcm did not write/);
  rmSync(join(d, 'notes.txt'));
  writeFileSync(join(d, 'shards', 'extra.bin'), 'mine');
  assertUserError(await prep(d), 2, /shards\/ also holds 'extra\.bin'/);
  assert.ok(existsSync(join(d, 'shards', 'extra.bin')));
});

test('a non-empty directory without meta.json, a file, and a symbolic link at --out are refused', async () => {
  const d = join(S.dir, 'home');
  mkdirSync(d);
  writeFileSync(join(d, 'thesis.tex'), 'x');
  assertUserError(await prep(d), 2, /home is a non-empty directory that is not a cmdcm dataset \(no meta\.json\)/);
  const f = join(S.dir, 'afile');
  writeFileSync(f, 'x');
  assertUserError(await prep(f), 2, /afile exists and is a file/);
  const l = join(S.dir, 'link');
  symlinkSync(S.data, l);
  assertUserError(await prep(l), 2, /link is a symbolic link/);
  assert.equal(readFileSync(f, 'utf8'), 'x');
  assertNoTemps(S.dir);
});

test('its own dataset (recognised by the signature in meta.json) is replaced; an empty directory is filled', async () => {
  const meta = JSON.parse(readFileSync(join(S.data, 'meta.json'), 'utf8'));
  assert.equal(meta.cmdcm, 'dataset');
  ok(await prep(S.data), 'prepare over its own dataset');
  const e = join(S.dir, 'empty');
  mkdirSync(e);
  ok(await prep(e), 'prepare into an empty dir');
  assert.ok(listTree(e).includes('meta.json'));
  assertNoTemps(S.dir);
});

test('a dataset of an older format (no signature yet) is still recognised and replaced, but not with a user file inside', async () => {
  const d = copyTree(S.data, join(S.dir, 'old-format'));
  const m = JSON.parse(readFileSync(join(d, 'meta.json'), 'utf8'));
  delete m.cmdcm;
  delete m.asOf;
  m.formatVersion = 1;
  writeFileSync(join(d, 'meta.json'), JSON.stringify(m));
  writeFileSync(join(d, 'mine.txt'), 'x');
  assertUserError(await prep(d), 2, /old-format is a cmdcm dataset but also holds 'mine\.txt'/);
  rmSync(join(d, 'mine.txt'));
  ok(await prep(d), 'prepare over an older dataset');
  assert.equal(JSON.parse(readFileSync(join(d, 'meta.json'), 'utf8')).cmdcm, 'dataset');
});
