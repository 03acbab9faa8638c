import { spawn } from 'node:child_process';

/**
 * Runs `prepare(options)` in a child process whose `hook` option (a prepare callback such as
 * beforeCommit) prints 'ready' and then hangs; SIGKILLs the child at that point and waits for it:
 * the state a crash there leaves behind. `options` is the source text of prepare's options object
 * without the hook.
 */
export async function killPrepareAt(hook: string, options: string): Promise<void> {
  const script = `
    import { prepare } from ${JSON.stringify(new URL('../../src/data/prepare.js', import.meta.url).href)};
    await prepare({ ...${options}, ${hook}: async () => { process.stdout.write('ready\\n'); await new Promise(() => setInterval(() => {}, 1000)); } });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, CMDCM_LOG_LEVEL: 'silent' } });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(); });
    child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}
