import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

// The package root (dist/test/package -> three levels up).
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function nodeEval(code: string, ...flags: string[]): string {
  // CMDCM_NO_NATIVE keeps the child from loading the addon: only module resolution is under test.
  return execFileSync(process.execPath, [...flags, '-e', code], { cwd: root, env: { ...process.env, CMDCM_NO_NATIVE: '1' } }).toString().trim();
}

test("require('cmdcm') loads the library (no top-level await anywhere in its import graph)", () => {
  // A top-level await in any imported module makes require() of the ES module graph throw
  // ERR_REQUIRE_ASYNC_MODULE; the package self-reference goes through package.json "exports".
  const out = nodeEval("const m = require('cmdcm'); console.log([typeof m.train, typeof m.evaluate, typeof m.CmdcmError].join(','))");
  assert.equal(out, 'function,function,function');
});

test("import('cmdcm') gives the same exports as require('cmdcm')", () => {
  const viaImport = nodeEval("import('cmdcm').then((m) => console.log(Object.keys(m).sort().join(',')))");
  const viaRequire = nodeEval("console.log(Object.keys(require('cmdcm')).filter((k) => k !== '__esModule' && k !== 'module.exports').sort().join(','))");
  assert.equal(viaRequire, viaImport);
  assert.ok(viaImport.split(',').includes('prepare'));
});

test('package.json: engines, license file and exports agree with what the code needs', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  // require(esm) without a flag: Node 20.19 / 22.12 (zlib.crc32, used by checkpoints, needs 20.15).
  assert.equal(pkg.engines.node, '^20.19.0 || >=22.12.0');
  assert.equal(pkg.license, 'Apache-2.0');
  assert.match(readFileSync(join(root, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0, January 2004/);
  assert.equal(pkg.exports['.'].require, pkg.exports['.'].import);
});
