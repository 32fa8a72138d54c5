#!/usr/bin/env node
import { ExitCode } from './errors.js';
import { main, report } from './cli.js';

process.on('SIGINT', () => process.exit(ExitCode.Interrupted));
main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.exitCode = report(error);
  },
);
