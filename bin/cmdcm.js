#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

// main() turns every error of a command into one line; what escapes it (an error thrown from a
// callback or an event) is a bug, printed on one line too, with the stack only under CMDCM_DEBUG=1
const debug = process.env.CMDCM_DEBUG === '1';
const bug = (e) => {
  const msg = e instanceof Error ? (debug && e.stack ? e.stack : `${e.name}: ${e.message}`.replace(/\s*\n\s*/g, ' ')) : String(e);
  process.stderr.write(`cmdcm: internal error: ${msg}${debug ? '' : ' (set CMDCM_DEBUG=1 for the stack trace)'}\n`);
};
process.on('uncaughtException', (e) => { bug(e); process.exit(70); });
process.on('unhandledRejection', (e) => { bug(e); process.exit(70); });

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e) => { bug(e); process.exitCode = 70; },
);
