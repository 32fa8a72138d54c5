/**
 * `crossdock toolchain setup`: installs what doctor found missing, one listr2 task per package
 * group, streaming apt's output into the task. Planned from the doctor report, so a second run
 * on a ready host makes no apt call at all.
 */
import type { ListrTask } from 'listr2';
import { MissingPrerequisiteError } from '../errors.js';
import type { Runner } from '../exec/runner.js';
import type { Check, DoctorReport } from './doctor.js';

export interface SetupPlan {
  /** dpkg architectures to add before apt-get update. */
  foreignArchitectures: string[];
  /** apt-get install groups, in order. */
  groups: Array<{ title: string; packages: string[] }>;
  /** Missing things setup cannot install (a tool too old, a binfmt handler). */
  manual: Array<{ target: string | null; check: Check }>;
}

/**
 * Installs what the targets need and every host tool the main job and the tests use (ssh, sshd,
 * debootstrap for the emulated fleet, skopeo, openssl): `pipeline` must run right after it.
 * `buildOnly` keeps to what a build needs.
 */
export function planSetup(report: DoctorReport, options: { buildOnly?: boolean } = {}): SetupPlan {
  const foreignArchitectures = new Set<string>();
  const groups = new Map<string, Set<string>>();
  const manual: SetupPlan['manual'] = [];
  const consider = (target: string | null, check: Check) => {
    if (check.ok) return;
    if (!check.install) {
      // binfmt handlers are `crossdock binfmt install`'s job, not apt's.
      if (check.id !== 'binfmt' && check.id !== 'cgo') manual.push({ target, check });
      return;
    }
    if (check.install.foreignArchitecture) foreignArchitectures.add(check.install.foreignArchitecture);
    const group = groups.get(check.install.group) ?? new Set<string>();
    for (const name of check.install.packages) group.add(name);
    groups.set(check.install.group, group);
  };
  for (const target of report.targets) for (const check of target.checks) consider(target.target, check);
  for (const check of report.host.checks) if (check.required || !options.buildOnly) consider(null, check);
  return {
    foreignArchitectures: [...foreignArchitectures],
    groups: [...groups].map(([title, packages]) => ({ title, packages: [...packages] })),
    manual,
  };
}

export function isEmptyPlan(plan: SetupPlan): boolean {
  return plan.foreignArchitectures.length === 0 && plan.groups.length === 0;
}

/** apt without questions, and without recommends: build hosts stay small. */
const APT_ENV = { DEBIAN_FRONTEND: 'noninteractive' };

export function setupTasks<Context extends object>(plan: SetupPlan, runner: Runner): ListrTask<Context>[] {
  const tasks: ListrTask<Context>[] = [];
  if (isEmptyPlan(plan)) {
    if (plan.manual.length > 0) {
      const [first] = plan.manual;
      tasks.push({
        title: 'Check what apt cannot install',
        task: () => {
          throw new MissingPrerequisiteError(`${first?.check.title ?? ''}: ${first?.check.detail ?? ''}`, {
            hint: first?.check.fix ?? undefined,
          });
        },
      });
    }
    return tasks;
  }
  const streamInto = (output: (line: string) => void) => ({
    onOutput: (line: string) => {
      output(line);
    },
    mutates: true,
    env: APT_ENV,
  });
  if (plan.foreignArchitectures.length > 0) {
    tasks.push({
      title: `Add dpkg architectures: ${plan.foreignArchitectures.join(', ')}`,
      task: async (_, task) => {
        for (const architecture of plan.foreignArchitectures) {
          await runner.run(
            'dpkg',
            ['--add-architecture', architecture],
            streamInto((line) => (task.output = line)),
          );
        }
      },
    });
  }
  tasks.push({
    title: 'apt-get update',
    task: async (_, task) => {
      // A mirror caught mid-sync fails one index ("File has unexpected size") and apt keeps the
      // old list; the install below still fails loudly if a package is really missing.
      const result = await runner.run('apt-get', ['update'], {
        ...streamInto((line) => (task.output = line)),
        allowFailure: true,
      });
      if (result.exitCode !== 0)
        task.title = `apt-get update (exit ${result.exitCode}: some index files failed; continuing with the lists apt has)`;
    },
  });
  for (const group of plan.groups) {
    tasks.push({
      title: `${group.title}: ${group.packages.join(' ')}`,
      task: async (_, task) => {
        await runner.run(
          'apt-get',
          ['install', '-y', '--no-install-recommends', ...group.packages],
          streamInto((line) => (task.output = line)),
        );
      },
    });
  }
  return tasks;
}
