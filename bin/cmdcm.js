#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';
import { describeFsError } from '../dist/src/util/fs-errors.js';

// main() turns every error of a command into one line; what escapes it (an error thrown from a
// callback or an event) is a bug, printed on one line too, with the stack only under CMDCM_DEBUG=1
const debug = process.env.CMDCM_DEBUG === '1';
const bug = (e) => {
  // a file-system error from a stream callback is the user's situation (a bad path, a full disk)
  const fs = describeFsError(e);
  if (fs) {
    process.stderr.write(`cmdcm: ${fs.replace(/[\x00-\x1f\x7f]/g, '?')}${debug && e.stack ? `\n${e.stack}` : ''}\n`);
    return 1;
  }
  const msg = e instanceof Error ? (debug && e.stack ? e.stack : `${e.name}: ${e.message}`.replace(/\s*\n\s*/g, ' ')) : String(e);
  process.stderr.write(`cmdcm: internal error: ${msg}${debug ? '' : ' (set CMDCM_DEBUG=1 for the stack trace)'}\n`);
  return 70;
};
process.on('uncaughtException', (e) => { process.exit(bug(e)); });
process.on('unhandledRejection', (e) => { process.exit(bug(e)); });

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e) => { process.exitCode = bug(e); },
);
