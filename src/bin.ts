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
main().then(
  (code) => {
    process.exitCode = wasInterrupted() ? ExitCode.Interrupted : code;
  },
  (error: unknown) => {
    process.exitCode = wasInterrupted() ? ExitCode.Interrupted : report(error);
  },
);
