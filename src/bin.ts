#!/usr/bin/env node
import { ExitCode } from './errors.js';
import { interrupt, wasInterrupted } from './interrupt.js';
import { main, report } from './cli.js';

// The first Ctrl-C unwinds (connections closed, every finally run); the second quits at once.
process.on('SIGINT', () => {
  if (wasInterrupted()) process.exit(ExitCode.Interrupted);
  process.stderr.write('crossdock: interrupted; letting go of the boards (Ctrl-C again to quit at once)\n');
  interrupt();
});
// Once the command is done, nothing left open (a socket a peer never closes) may keep the
// process from exiting: what it had to say is said.
const exitSoon = () => setTimeout(() => process.exit(), 5000).unref();
main().then(
  (code) => {
    process.exitCode = wasInterrupted() ? ExitCode.Interrupted : code;
    exitSoon();
  },
  (error: unknown) => {
    process.exitCode = wasInterrupted() ? ExitCode.Interrupted : report(error);
    exitSoon();
  },
);
