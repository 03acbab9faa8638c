import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Trainer } from '../../src/train/trainer.js';
import { readCheckpoint, CKPT_LATEST } from '../../src/train/checkpoint.js';
import { createModel } from './testing-model.js';
import { maxRelDiff, randomSamples, smallSchema, trainConfig } from './helpers.js';

/**
 * Shared by the fault and signal tests: a training run in a child process (fixtures/run-child.ts)
 * whose JSON lines the test watches, and the in-thread oracle its checkpoints are compared with.
 */
export const CHILD = fileURLToPath(new URL('./fixtures/run-child.js', import.meta.url));
export const schema = smallSchema();
export const modelConfig = { dim: 8, hidden: 8 };
export const model = createModel(modelConfig, schema);

/** The state after `steps` steps of the same run trained in this thread (the oracle). */
export async function referenceAt(steps: number) {
  const cfg = trainConfig({ batchSize: 16, epochs: 50, maxSteps: steps, checkpointEvery: 0 });
  const s = await new Trainer({ model, schema, train: randomSamples(schema, 200, 3), config: cfg }).run();
  return s.state;
}

export function shmOf(pid: number): string[] {
  return existsSync('/dev/shm') ? readdirSync('/dev/shm').filter((n) => n.startsWith(`cmdcm-${pid}-`)) : [];
}

export function runChild(opts: object, onLine?: (obj: Record<string, unknown>, kill: (sig: NodeJS.Signals) => void) => void) {
  return new Promise<{ code: number | null; stderr: string; lines: Record<string, unknown>[]; pid: number }>((resolve) => {
    const child = spawn(process.execPath, [CHILD], { env: { ...process.env, CMDCM_LOG_LEVEL: 'silent', CMDCM_TEST_RUN: JSON.stringify(opts) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    const lines: Record<string, unknown>[] = [];
    child.stdout.on('data', (d) => {
      out += d;
      let i;
      while ((i = out.indexOf('\n')) >= 0) {
        const obj = JSON.parse(out.slice(0, i));
        out = out.slice(i + 1);
        lines.push(obj);
        onLine?.(obj, (sig) => child.kill(sig));
      }
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, stderr: err, lines, pid: child.pid! }));
  });
}

export async function assertCheckpointAt(runDir: string, step: number) {
  const ck = await readCheckpoint(join(runDir, CKPT_LATEST));
  assert.equal(ck.state.step, step, 'the last checkpoint is the one written before the fault');
  const want = await referenceAt(step);
  for (const k of ['params', 'm', 'v', 'table', 'tableM', 'tableV'] as const) {
    assert.ok(maxRelDiff(ck.state[k], want[k]) <= 1e-5, `checkpoint ${k} matches the uninterrupted run at step ${step}`);
  }
}
