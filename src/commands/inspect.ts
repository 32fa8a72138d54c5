import { ExitCode, UserError } from '../errors.js';
import { type InspectReport, inspectFile } from '../platform/inspect.js';
import { loadTargets } from '../platform/targets.js';
import { printJson } from '../ui/output.js';

export interface InspectFailure {
  file: string;
  error: string;
}

export async function inspectFiles(files: readonly string[]): Promise<Array<InspectReport | InspectFailure>> {
  const registry = await loadTargets();
  return files.map((file) => {
    try {
      return inspectFile(file, registry);
    } catch (error) {
      if (error instanceof UserError) return { file, error: error.message };
      throw error;
    }
  });
}

export function describeReport(report: InspectReport): string {
  const arm = report.armArchName ? `, ARM ${report.armArchName}` : '';
  const float = report.floatAbi ? ` ${report.floatAbi}-float` : '';
  const linkage = report.static ? 'static' : `dynamic (${report.interpreter})`;
  const go = report.go ? `, Go ${report.go.version}` : '';
  return `${report.file}: ${report.machine} ELF ${report.class}-bit${arm}${float}, ${linkage}${go} → ${report.target ?? 'no crossdock target'}`;
}

export async function inspectCommand(files: readonly string[], options: { json?: boolean }): Promise<number> {
  if (files.length === 0) throw new UserError('inspect: no files given', { hint: 'crossdock inspect FILE...' });
  const results = await inspectFiles(files);
  if (options.json) printJson(results);
  else {
    for (const result of results) {
      if ('error' in result) process.stderr.write(`crossdock: ${result.error}\n`);
      else process.stdout.write(`${describeReport(result)}\n`);
    }
  }
  return results.some((result) => 'error' in result) ? ExitCode.Usage : ExitCode.Ok;
}
