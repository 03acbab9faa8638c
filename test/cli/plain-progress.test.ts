import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PlainProgress } from '../../src/cli/plain-progress.js';

test('PlainProgress: one line per interval with done/total, percent, elapsed and ETA', () => {
  let t = 1_000_000;
  const lines: string[] = [];
  const p = new PlainProgress('train cmdcm: step', 200, 10_000, (l) => lines.push(l), () => t);
  p.tick(1);
  t += 5_000;
  p.tick(10); // within the interval: nothing
  assert.deepEqual(lines, []);
  t += 5_000;
  p.tick(50, 'loss 0.3000');
  t += 9_999;
  p.tick(90);
  t += 1;
  p.tick(100);
  assert.deepEqual(lines, [
    'train cmdcm: step: 50/200 (25%), 10s elapsed, ETA 30s, loss 0.3000\n',
    'train cmdcm: step: 100/200 (50%), 20s elapsed, ETA 20s\n',
  ]);
});
