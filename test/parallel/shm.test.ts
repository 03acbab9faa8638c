import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadAddon } from '../../src/native.js';
import { createSegment, futexWaiter, openSegment, shmAddon, unlinkSegment } from '../../src/parallel/region.js';
import { Barrier } from '../../src/parallel/barrier.js';
import { C_ABORT } from '../../src/parallel/layout.js';
import { ourShmEntries } from './helpers.js';

const skip = loadAddon() === undefined || typeof (loadAddon() as Record<string, unknown>).shmCreate !== 'function' ? 'native addon not built' : false;

test('segment: create, map twice, see the same bytes, unlink removes the /dev/shm entry', { skip }, async () => {
  const { name, buffer } = createSegment(1 << 16);
  assert.ok(existsSync('/dev/shm' + name));
  const again = new Float32Array(openSegment(name));
  new Float32Array(buffer)[100] = 1.5;
  assert.equal(again[100], 1.5);
  unlinkSegment(name);
  assert.ok(!existsSync('/dev/shm' + name));
  // the mapping outlives the name
  again[7] = 3;
  assert.equal(new Float32Array(buffer)[7], 3);
  assert.throws(() => openSegment(name), /ENOENT|No such file/);
  assert.deepEqual(await ourShmEntries(), []);
});

test('futex barrier across two processes', { skip }, async () => {
  const { name, buffer } = createSegment(4096);
  try {
    const ctrl = new Int32Array(buffer, 0, 16);
    const data = new Int32Array(buffer, 64, 4);
    // the child writes data, then meets us at the barrier twice; we check its write is visible after each
    const src = `
      const a = require(${JSON.stringify(require_addon_path())});
      const buf = a.shmOpen(${JSON.stringify(name)});
      const ctrl = new Int32Array(buf, 0, 16), data = new Int32Array(buf, 64, 4);
      const arrive = () => { const g = Atomics.load(ctrl, 1); if (Atomics.add(ctrl, 0, 1) === 1) { Atomics.store(ctrl, 0, 0); Atomics.add(ctrl, 1, 1); a.futexWake(buf, 4, 100); } else while (Atomics.load(ctrl, 1) === g) a.futexWait(buf, 4, g, 200); };
      data[0] = 41; arrive(); data[1] = 42; arrive(); process.exit(0);`;
    const child = fork('-e', [src], { execArgv: [], stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const bar = new Barrier(ctrl, 2, futexWaiter());
    // handshake: the child arrives first (the barrier's arrival count, ctrl[0], says when), so it
    // waits in the futex and our arrival is the one that wakes it
    let childGone = false;
    void exited.then(() => { childGone = true; });
    while (Atomics.load(ctrl, 0) !== 1) {
      assert.ok(!childGone, 'the child exited before it reached the barrier');
      await new Promise((r) => setImmediate(r));
    }
    bar.arrive();
    assert.equal(data[0], 41);
    bar.arrive();
    assert.equal(data[1], 42);
    assert.equal(await exited, 0);
  } finally {
    unlinkSegment(name);
  }
});

test('an abort wakes a barrier waiter', { skip }, () => {
  const { name, buffer } = createSegment(4096);
  try {
    const ctrl = new Int32Array(buffer, 0, 16);
    Atomics.store(ctrl, C_ABORT, 1);
    const bar = new Barrier(ctrl, 2, futexWaiter(), 10);
    assert.throws(() => bar.arrive(), /aborted by the coordinator/);
    assert.equal(shmAddon().futexWait(buffer, 4, 12345, 1), 'not-equal');
    assert.equal(shmAddon().futexWait(buffer, 4, Atomics.load(ctrl, 1), 5), 'timed-out');
    assert.throws(() => shmAddon().futexWait(buffer, 2, 0, 1), /unaligned/);
  } finally {
    unlinkSegment(name);
  }
});

function require_addon_path(): string {
  return new URL('../../../build/Release/cmdcm.node', import.meta.url).pathname;
}
