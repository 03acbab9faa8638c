import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Trainer } from '../../src/train/trainer.js';
import { readCheckpoint, CKPT_LATEST } from '../../src/train/checkpoint.js';
import { createModel } from '../../src/parallel/testing-model.js';
import type { FaultInjection } from '../../src/parallel/worker-core.js';
import { maxRelDiff, randomSamples, shmSkip, smallSchema, trainConfig } from './helpers.js';

const noShm = await shmSkip();
const CHILD = fileURLToPath(new URL('./fixtures/run-child.js', import.meta.url));
const schema = smallSchema();
const modelConfig = { dim: 8, hidden: 8 };
const model = createModel(modelConfig, schema);

/** The state after `steps` steps of the same run trained in this thread (the oracle). */
async function referenceAt(steps: number) {
  const cfg = trainConfig({ batchSize: 16, epochs: 50, maxSteps: steps, checkpointEvery: 0 });
  const s = await new Trainer({ model, schema, train: randomSamples(schema, 200, 3), config: cfg }).run();
  return s.state;
}

function shmOf(pid: number): string[] {
  return existsSync('/dev/shm') ? readdirSync('/dev/shm').filter((n) => n.startsWith(`cmdcm-${pid}-`)) : [];
}

function runChild(opts: object, onLine?: (obj: Record<string, unknown>, kill: (sig: NodeJS.Signals) => void) => void) {
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

async function assertCheckpointAt(runDir: string, step: number) {
  const ck = await readCheckpoint(join(runDir, CKPT_LATEST));
  assert.equal(ck.state.step, step, 'the last checkpoint is the one written before the fault');
  const want = await referenceAt(step);
  for (const k of ['params', 'm', 'v', 'table', 'tableM', 'tableV'] as const) {
    assert.ok(maxRelDiff(ck.state[k], want[k]) <= 1e-5, `checkpoint ${k} matches the uninterrupted run at step ${step}`);
  }
}

for (const [transport, kind] of [['thread', 'throw'], ['thread', 'exit'], ['process', 'throw'], ['process', 'kill']] as const) {
  test(`${transport} worker that ${kind === 'kill' ? 'is SIGKILLed' : kind === 'exit' ? 'exits' : 'throws'} mid-run: the coordinator names worker and step, exits non-zero, keeps the checkpoint`, { skip: transport === 'process' && noShm }, async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'cmdcm-par-fault-'));
    try {
      const fault: FaultInjection = { worker: 1, step: 7, kind };
      const r = await runChild({ runDir, workers: 2, transport, maxSteps: 20, checkpointEvery: 3, fault });
      assert.equal(r.code, 1, `exit code (stderr: ${r.stderr})`);
      assert.match(r.stderr, /worker 1\b/);
      assert.match(r.stderr, /step 7\b/);
      const why = { throw: /injected fault/, exit: /exited with code:? 3/, kill: /killed by SIGKILL/ }[kind];
      assert.match(r.stderr, why);
      assert.equal(r.lines.filter((l) => 'step' in l).length, 6, 'six steps completed before the fault');
      await assertCheckpointAt(runDir, 6);
      assert.deepEqual(shmOf(r.pid), [], 'no shared-memory segment left behind');
      if (transport === 'process') {
        // every worker process is gone
        const pids = r.lines.at(-1)!.pids as number[];
        for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/);
      }
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
  });
}

