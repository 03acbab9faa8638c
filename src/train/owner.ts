import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { CmdcmError } from '../util/errors.js';
import { listed, readJson, statOrNull } from '../data/owner.js';
import { validateRunConfig } from './validate.js';

/** The owner check of a run directory (the dataset's and the rationale: src/data/owner.ts). */

/** The lock inside a run directory. */
export const RUN_LOCK = '.cmdcm.lock';

/** What a new run may find in its --out: nothing but our own lock (and what the user cannot see). */
export async function checkRunOut(runDir: string, resume: boolean): Promise<'new' | 'run'> {
  const st = await statOrNull(runDir);
  if (!st) {
    if (resume) throw new CmdcmError(`--resume: ${runDir} holds no run to resume (the directory does not exist)`);
    return 'new';
  }
  if (!st.isDirectory()) throw new CmdcmError(`--out: ${runDir} exists and is a file, not a run directory`, { exitCode: 2 });
  // our lock, and temp files of a cmdcm write that was killed, are not the user's
  const entries = (await fsp.readdir(runDir)).filter((e) => e !== RUN_LOCK && !/^\..+\.tmp-\d+-[0-9a-f]{8}$/.test(e));
  if (entries.includes('config.json')) {
    // a config.json that does not validate is not ours: neither resumed nor written over
    validateRunConfig(await readJson(join(runDir, 'config.json')), join(runDir, 'config.json'));
    if (!resume) throw new CmdcmError(`--out: ${runDir} already holds a run (continue it with --resume, or choose another --out)`);
    return 'run';
  }
  if (resume) throw new CmdcmError(`--resume: ${runDir} holds no run to resume (no ${join(runDir, 'config.json')})`);
  if (entries.length > 0) {
    throw new CmdcmError(`--out: ${runDir} is a non-empty directory that is not a cmdcm run (it holds ${listed(entries)}); choose a new or empty directory`, { exitCode: 2 });
  }
  return 'new';
}

