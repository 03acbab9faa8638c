import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FaultInjection } from '../../src/parallel/worker-core.js';
import { shmSkip } from './helpers.js';
import { assertCheckpointAt, runChild, shmOf } from './child-run.js';

const noShm = await shmSkip();

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

