import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WORKER_INITIAL_OLD_SPACE_MB, workerExecArgv } from '../../src/parallel/heap.js';

const FLAG = `--initial-old-space-size=${WORKER_INITIAL_OLD_SPACE_MB}`;

function withNodeOptions<T>(value: string | undefined, fn: () => T): T {
  const prev = process.env.NODE_OPTIONS;
  if (value === undefined) delete process.env.NODE_OPTIONS;
  else process.env.NODE_OPTIONS = value;
  try {
    return fn();
  } finally {
    if (prev === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = prev;
  }
}

test('worker processes get the initial old-space size after the parent\'s own flags', () => {
  withNodeOptions(undefined, () => {
    assert.deepEqual(workerExecArgv([]), [FLAG]);
    assert.deepEqual(workerExecArgv(['--enable-source-maps', '--expose-gc']), ['--enable-source-maps', '--expose-gc', FLAG]);
  });
});

test('an old-space size the user chose wins, on the command line or in NODE_OPTIONS, either spelling', () => {
  withNodeOptions(undefined, () => {
    for (const own of ['--max-old-space-size=4096', '--initial-old-space-size=64', '--max_old_space_size=900', '--initial_old_space_size=32']) {
      assert.deepEqual(workerExecArgv([own]), [own], own);
    }
    // a look-alike flag is not an old-space size
    assert.deepEqual(workerExecArgv(['--max-semi-space-size=16']), ['--max-semi-space-size=16', FLAG]);
  });
  withNodeOptions('--max-old-space-size=2048 --enable-source-maps', () => assert.deepEqual(workerExecArgv([]), []));
  withNodeOptions('--enable-source-maps', () => assert.deepEqual(workerExecArgv([]), [FLAG]));
});
