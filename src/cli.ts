/**
 * The command table. Each command imports its module lazily so `crossdock --help` loads almost
 * nothing; one catch turns typed errors into one line, a hint and a documented exit code.
 */
import { cac } from 'cac';
import { emit, errorAnnotation } from './ui/github-actions.js';
import { ExitCode, isCrossdockError } from './errors.js';
import { packageVersion } from './package-root.js';

type Flags = Record<string, unknown>;

/** `--target a,b --target c` → ['a', 'b', 'c']; every --target flag takes lists either way. */
export function listFlag(value: unknown): string[] | undefined {
  if (value === undefined || value === false) return undefined;
  const values = Array.isArray(value) ? value : [value];
  return values
    .flatMap((item) => String(item).split(','))
    .map((item) => item.trim())
    .filter(Boolean);
}

/** The argument parser reads `--version 27.5` as a number; keep what was typed. */
function textFlag(value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

function configOverrides(flags: Flags) {
  return {
    target: listFlag(flags.target),
    'out-dir': flags.outDir,
    jobs: flags.jobs,
    repo: flags.repo,
    'api-url': flags.apiUrl,
    inventory: flags.inventory,
    docker: textFlag(flags.docker),
  };
}

export function createCli() {
  const cli = cac('crossdock');

  cli.option('--config <file>', 'Config file (default: crossdock.yaml in the current directory)');
  cli.option('--verbose', 'Line-by-line progress instead of the live view');

  cli
    .command(
      'targets',
      'List every target with its name in each vocabulary (OCI, uname, Debian, Go, GNU, QEMU) and its boards',
    )
    .option('--json', 'Print JSON')
    .action(async (flags: Flags) => {
      const { targetsCommand } = await import('./commands/targets.js');
      return targetsCommand({ json: Boolean(flags.json) });
    });

  cli
    .command(
      'inspect [...files]',
      'Tell what a binary is: ELF class and machine, ARM architecture (v6/v7/v8), float ABI, static or not, and its target',
    )
    .option('--json', 'Print JSON, one object per file')
    .example('crossdock inspect dist/27.5.1/armv6/docker/runc --json')
    .action(async (files: string[], flags: Flags) => {
      const { inspectCommand } = await import('./commands/inspect.js');
      return inspectCommand(files, { json: Boolean(flags.json) });
    });

  cli
    .command(
      'resolve <name>',
      'Resolve any platform name (linux/arm/v7, armv7l, armhf, GOARCH=arm GOARM=6, …) to a target',
    )
    .option(
      '--vocabulary <vocabulary>',
      'The vocabulary the name comes from (oci, uname, debian, raspbian, alpine, go, gnu, docker-static, qemu)',
    )
    .option('--json', 'Print JSON')
    .action(async (name: string, flags: Flags) => {
      const { resolveCommand } = await import('./commands/resolve.js');
      return resolveCommand(name, {
        vocabulary: flags.vocabulary as string | undefined,
        json: Boolean(flags.json),
      });
    });

  cli
    .command(
      'doctor',
      'What this host can do for each target: compilers, Go and cgo, libraries, QEMU, binfmt, ssh, disk; and the command that fixes each gap',
    )
    .option(
      '--target <targets>',
      'Targets (comma-separated or repeated; default: every stable target; all: every target)',
    )
    .option('--json', 'Print JSON')
    .action(async (flags: Flags) => {
      const { doctorCommand } = await import('./commands/doctor.js');
      return doctorCommand({ targets: listFlag(flags.target), json: Boolean(flags.json) });
    });

  cli
    .command(
      'toolchain <action>',
      'setup: install what doctor found missing (apt); verify: compile and run C, Go and cgo probes per target',
    )
    .option('--target <targets>', 'Targets (comma-separated or repeated)')
    .option('--dry-run', 'Show the apt commands without running them')
    .option('--json', 'Print JSON')
    .example('crossdock toolchain setup --target armv6,armv7 --dry-run')
    .example('crossdock toolchain verify --target armv6')
    .action(async (action: string, flags: Flags) => {
      const { toolchainCommand } = await import('./commands/toolchain.js');
      return toolchainCommand(action, {
        config: flags.config as string | undefined,
        targets: listFlag(flags.target),
        dryRun: Boolean(flags.dryRun),
        json: Boolean(flags.json),
        verbose: Boolean(flags.verbose),
      });
    });

  cli
    .command(
      'binfmt <action>',
      'status | install | uninstall QEMU user-mode handlers in binfmt_misc, reconciled against targets/',
    )
    .option('--target <targets>', "Targets (comma-separated or repeated); the host's own target is never registered")
    .option('--persist', 'Also write /etc/binfmt.d/crossdock-*.conf so handlers survive a reboot')
    .option('--force', 'Replace a handler registered differently')
    .option('--flags <flags>', 'binfmt flags (default F; add C or P on request, e.g. FC)')
    .option('--dry-run', 'Show what would be written without writing')
    .option('--json', 'Print JSON')
    .action(async (action: string, flags: Flags) => {
      const { binfmtCommand } = await import('./commands/binfmt.js');
      return binfmtCommand(action, {
        targets: listFlag(flags.target),
        persist: Boolean(flags.persist),
        force: Boolean(flags.force),
        dryRun: Boolean(flags.dryRun),
        json: Boolean(flags.json),
        flags: typeof flags.flags === 'string' ? flags.flags : undefined,
      });
    });

  cli
    .command('build', 'Build the engine and runtime for each target: verified, reproducible bundles in DIR/<version>/')
    .option('--target <targets>', 'Targets (comma-separated or repeated)')
    .option(
      '--component <components>',
      'Binaries to build, or a source for all of its binaries (comma-separated or repeated), e.g. runc,containerd or compose,buildx',
    )
    .option('--version <version>', "Release version (semver); default: the config's, else the Docker version built")
    .option(
      '--docker <version>',
      "Docker release (29.7.2, or latest): every source, compose and buildx too, at the versions moby's Dockerfile pins",
    )
    .option('--out-dir, --out <dir>', 'Output directory (default: build.outDir, else dist)')
    .option('--jobs <n>', 'Builds at once')
    .option('--no-smoke', 'Skip the smoke runs under QEMU')
    .option('--json', 'Print JSON')
    .action(async (flags: Flags) => {
      const { buildCommand } = await import('./commands/build.js');
      return buildCommand({
        config: flags.config as string | undefined,
        version: textFlag(flags.version),
        json: Boolean(flags.json),
        verbose: Boolean(flags.verbose),
        overrides: {
          ...configOverrides(flags),
          component: listFlag(flags.component),
          'out-dir': flags.outDir,
          smoke: flags.smoke === false ? false : undefined,
        },
      });
    });

  cli
    .command(
      'verify <dist>',
      'Re-verify a dist/<version>/ directory: SHA256SUMS, manifest, every binary (ELF, static, ARM level, smoke run)',
    )
    .option('--no-smoke', 'Skip the smoke runs under QEMU')
    .option('--json', 'Print JSON')
    .action(async (directory: string, flags: Flags) => {
      const { verifyCommand } = await import('./commands/build.js');
      return verifyCommand(directory, {
        json: Boolean(flags.json),
        smoke: flags.smoke === false ? false : undefined,
        config: flags.config as string | undefined,
      });
    });

  cli
    .command(
      'release [...dists]',
      'Publish dist directories as one GitHub release: find or create a draft, sync assets by name and SHA-256, publish',
    )
    .option('--repo <owner/name>', 'Repository (default: release.repository in crossdock.yaml)')
    .option('--tag <tag>', "Semver tag, v optional (default: v + the manifest's version)")
    .option('--api-url <url>', 'REST API URL: https://HOST/api/v3 for GitHub Enterprise Server, Gitea/Forgejo /api/v1')
    .option('--draft', 'Upload everything but leave the release a draft')
    .option('--notes <file>', 'Release notes from a Markdown file')
    .option('--generate-notes', 'Write notes from the manifest and the git log since the previous tag')
    .option('--replace', 'Replace assets whose contents differ instead of refusing')
    .option('--concurrency <n>', 'Uploads at once (default 4)')
    .option('--target-commitish <ref>', 'Where a new tag is made (default: $GITHUB_SHA, else the default branch)')
    .option('--dry-run', 'Show what would be uploaded; no write requests')
    .option('--json', 'Print a JSON report')
    .example('GITHUB_TOKEN=… crossdock release dist/27.5.1 --repo acme/docker-arm')
    .example('crossdock release artifacts/*/27.5.1 --tag v27.5.1 --generate-notes')
    .action(async (dists: string[], flags: Flags) => {
      const { releaseCommand } = await import('./commands/release.js');
      return releaseCommand(dists, {
        config: flags.config as string | undefined,
        tag: textFlag(flags.tag),
        draft: Boolean(flags.draft),
        notes: typeof flags.notes === 'string' ? flags.notes : undefined,
        generateNotes: Boolean(flags.generateNotes),
        dryRun: Boolean(flags.dryRun),
        json: Boolean(flags.json),
        verbose: Boolean(flags.verbose),
        concurrency: flags.concurrency === undefined ? undefined : Number(flags.concurrency),
        targetCommitish: typeof flags.targetCommitish === 'string' ? flags.targetCommitish : undefined,
        overrides: { ...configOverrides(flags), 'replace-assets': flags.replace ? true : undefined },
      });
    });

  cli
    .command(
      'board <action> [...names]',
      'Emulated boards for rehearsing rollouts: up | list | down | power-cut | models | prepare (a Debian rootfs with its own sshd under QEMU, in namespaces)',
    )
    .option(
      '--model <model>',
      'Board model: rpi-zero, rpi-2, rpi-3, rpi-4-32, rpi-4, rpi-5, x86_64, vm-arm64, vm-x86_64 (prepare: a list)',
    )
    .option('--name <name>', 'Name of the board (default MODEL-N)')
    .option('--count <n>', 'How many boards of the model')
    .option('--inventory <file>', 'Also write the inventory of all boards here')
    .option('--mirror <url>', 'Debian mirror for the rootfs (default http://deb.debian.org/debian)')
    .option('--all', 'down: every board')
    .option('--json', 'Print JSON')
    .example('crossdock board up --model rpi-zero --count 2 --inventory boards.yaml')
    .example('crossdock board down --all')
    .action(async (action: string, names: string[], flags: Flags) => {
      const { boardCommand } = await import('./commands/board.js');
      return boardCommand(action, names, {
        model: textFlag(flags.model),
        name: textFlag(flags.name),
        count: flags.count === undefined ? undefined : Number(flags.count),
        inventory: textFlag(flags.inventory),
        mirror: textFlag(flags.mirror),
        all: Boolean(flags.all),
        json: Boolean(flags.json),
      });
    });

  cli
    .command(
      'probe',
      'Connect to each board (host keys verified) and report its model, target, kernel/userland, OS, init, disk, memory cgroup, iptables, Docker and sudo',
    )
    .option('--inventory <file>', 'Inventory of boards (default inventory.yaml)')
    .option('--limit <pattern>', 'Hosts, groups, tag:T or globs, comma-separated; !x excludes')
    .option('--accept-new', 'Record the host key of a board seen for the first time (trust on first use)')
    .option('--ssh-config <file>', 'ssh_config to resolve host names with (default ~/.ssh/config, as ssh -G)')
    .option('--forks <n>', 'Boards at once (default 32; one SSH connection each, jump hosts shared)')
    .option('--json', 'Print JSON, one entry per host')
    .example('crossdock probe --inventory /run/crossdock/boards/inventory.yaml')
    .action(async (flags: Flags) => {
      const { probeCommand } = await import('./commands/probe.js');
      return probeCommand({
        config: flags.config as string | undefined,
        inventory: textFlag(flags.inventory),
        limit: textFlag(flags.limit),
        acceptNew: Boolean(flags.acceptNew),
        json: Boolean(flags.json),
        sshConfig: textFlag(flags.sshConfig),
        forks: textFlag(flags.forks),
      });
    });

  cli
    .command(
      'install',
      'Install a build onto boards: probe, choose the bundle, send, verify on the board, unpack, switch atomically, health-check, commit or switch back; in waves',
    )
    .option('--inventory <file>', 'Inventory of boards (default inventory.yaml)')
    .option('--from <dist>', 'The dist directory crossdock build wrote, e.g. dist/27.5.1')
    .option('--release <owner/name@tag>', 'A published release instead of --from (boards that reach it download it)')
    .option('--api-url <url>', 'GitHub API for --release (default $GITHUB_API_URL or https://api.github.com)')
    .option('--fix', 'Apply the safe preflight fixes (the memory cgroup in cmdline.txt)')
    .option('--limit <pattern>', 'Hosts, groups, tag:T or globs, comma-separated; !x excludes')
    .option('--canary <n>', 'Hosts in the first wave (default 0)')
    .option('--batch <n|p%>', 'Hosts per wave after the canaries (default all at once)')
    .option('--max-fail <p%>', 'Stop when more than this share of hosts failed (default 0%)')
    .option('--keep <n>', 'Versions kept on each board (default 3; the active and previous always)')
    .option('--resume', 'Retry only the hosts that failed or were not reached last time')
    .option('--state-file <file>', 'Where the rollout is recorded (default beside the inventory)')
    .option('--accept-new', 'Record the host key of a board seen for the first time')
    .option('--ssh-config <file>', 'ssh_config to resolve host names with')
    .option('--forks <n>', 'Boards at once (default 32; one SSH connection each, jump hosts shared)')
    .option('--dry-run', 'Print the plan per host; change nothing')
    .option('--json', 'Print a JSON report')
    .example('crossdock install --inventory fleet.yaml --from dist/27.5.1 --canary 1 --batch 25% --max-fail 10%')
    .action(async (flags: Flags) => {
      const { installCommand } = await import('./commands/install.js');
      return installCommand({
        inventory: textFlag(flags.inventory),
        from: textFlag(flags.from),
        release: textFlag(flags.release),
        apiUrl: textFlag(flags.apiUrl),
        fix: Boolean(flags.fix),
        limit: textFlag(flags.limit),
        config: flags.config as string | undefined,
        canary: textFlag(flags.canary),
        batch: textFlag(flags.batch),
        maxFail: textFlag(flags.maxFail),
        keep: textFlag(flags.keep),
        resume: Boolean(flags.resume),
        stateFile: textFlag(flags.stateFile),
        acceptNew: Boolean(flags.acceptNew),
        sshConfig: textFlag(flags.sshConfig),
        forks: textFlag(flags.forks),
        dryRun: Boolean(flags.dryRun),
        json: Boolean(flags.json),
        verbose: Boolean(flags.verbose),
      });
    });

  cli
    .command(
      'fleet <action> [sub-action]',
      'status: version and health per board; rollback: switch back, health-checked; swarm init|status|leave: Docker Swarm over the boards; tls enable|status|disable: the remote API over TLS',
    )
    .option('--inventory <file>', 'Inventory of boards (default inventory.yaml)')
    .option('--limit <pattern>', 'Hosts, groups, tag:T or globs, comma-separated; !x excludes')
    .option('--accept-new', 'Record the host key of a board seen for the first time')
    .option('--ssh-config <file>', 'ssh_config to resolve host names with')
    .option('--forks <n>', 'Boards at once (default 32; one SSH connection each, jump hosts shared)')
    .option('--dry-run', 'rollback: say what would be switched; change nothing')
    .option('--deep', 'status: also run the health-check container (bridge, published port) on each board')
    .option('--manager <hosts>', 'swarm init: the managers (default: the group managers, else the first host)')
    .option('--no-check', 'swarm init: skip the service that proves every node runs containers')
    .option('--renew', "tls enable: reissue the boards' server certificates (and restart their engines)")
    .option('--restart', 'tls enable: restart the engines even where nothing changed')
    .option('--tls-dir <dir>', 'tls: the CA and certificates (default $XDG_CONFIG_HOME/crossdock/tls)')
    .option('--json', 'Print JSON')
    .action(async (action: string, subAction: string | undefined, flags: Flags) => {
      const { fleetCommand } = await import('./commands/fleet.js');
      return fleetCommand(action, {
        config: flags.config as string | undefined,
        subAction,
        renew: Boolean(flags.renew),
        restart: Boolean(flags.restart),
        tlsDirectory: textFlag(flags.tlsDir),
        managers: listFlag(flags.manager),
        check: flags.check !== false,
        inventory: textFlag(flags.inventory),
        limit: textFlag(flags.limit),
        acceptNew: Boolean(flags.acceptNew),
        sshConfig: textFlag(flags.sshConfig),
        forks: textFlag(flags.forks),
        dryRun: Boolean(flags.dryRun),
        deep: Boolean(flags.deep),
        json: Boolean(flags.json),
      });
    });

  cli
    .command(
      'pipeline',
      'Every stage: probe the fleet (or start an emulated one), build for its targets, release (when a repository is set), install',
    )
    .option(
      '--inventory <file>',
      'Inventory of boards (default: install.inventory; none: an emulated Pi Zero, Pi 3 and Pi 4 on 32-bit OS)',
    )
    .option('--version <version>', 'Release version (semver)')
    .option('--docker <version>', 'Docker release to build (29.7.2, or latest)')
    .option('--accept-new', 'Record the host key of a board seen for the first time')
    .option('--json', 'Print a JSON report')
    .action(async (flags: Flags) => {
      const { pipelineCommand } = await import('./commands/pipeline.js');
      return pipelineCommand({
        config: flags.config as string | undefined,
        inventory: textFlag(flags.inventory),
        version: textFlag(flags.version),
        docker: textFlag(flags.docker),
        acceptNew: Boolean(flags.acceptNew),
        json: Boolean(flags.json),
        verbose: Boolean(flags.verbose),
      });
    });

  cli
    .command('config', 'Show the configuration in effect: defaults < crossdock.yaml < flags')
    .option('--target <targets>', 'Targets (comma-separated or repeated)')
    .option('--out-dir <dir>', 'Output directory for builds')
    .option('--jobs <n>', 'Targets built at once')
    .option('--repo <owner/name>', 'GitHub repository for releases')
    .option('--api-url <url>', 'GitHub REST API URL (GHES, Gitea)')
    .option('--inventory <file>', 'Inventory of boards')
    .option('--json', 'Print JSON')
    .action(async (flags: Flags) => {
      const { configCommand } = await import('./commands/config.js');
      return configCommand({
        config: flags.config as string | undefined,
        json: Boolean(flags.json),
        overrides: configOverrides(flags),
      });
    });

  cli
    .command('schema', 'Print the JSON Schema of crossdock.yaml (--write regenerates the committed schema files)')
    .option('--write', 'Write crossdock.schema.json, targets/schema.json and toolchains/schema.json')
    .action(async (flags: Flags) => {
      const { schemaCommand } = await import('./commands/config.js');
      return schemaCommand({ write: Boolean(flags.write) });
    });

  // cac's cli.version() would make --version a global boolean and swallow `build --version 1.2.3`;
  // main() answers a bare `crossdock --version` itself.
  cli.usage('<command> [options]\n\n  crossdock --version prints the version of crossdock');
  cli.help((sections) => commandHelp(cli.matchedCommand, sections));
  return cli;
}

type HelpSection = { title?: string; body: string };
type CacCommand = ReturnType<ReturnType<typeof cac>['command']>;

/**
 * A command's --help as a newcomer needs it: what the command does (its description names its
 * actions: fleet status|rollback|swarm|tls), every option including one named --version (which cac
 * hides for commands), and no "(default: true)" on a --no-… switch that is off unless given.
 */
function commandHelp(command: CacCommand | undefined, sections: HelpSection[]): HelpSection[] {
  if (!command || command.name === '') return sections;
  const out = sections.map((section) => {
    if (section.title !== 'Options') return section;
    const hidden = command.options.filter((option) => option.name === 'version');
    const lines = [
      ...hidden.map((option) => `  ${option.rawName}  ${option.description}`),
      ...section.body.split('\n'),
    ];
    const width = Math.max(...lines.map((line) => /^ {2}(\S.*?) {2}/.exec(line)?.[1]?.length ?? 0));
    return {
      ...section,
      body: lines
        .map((line) => {
          const match = /^ {2}(\S.*?) {2,}(.*)$/.exec(line);
          if (!match) return line;
          const [, name = '', description = ''] = match;
          const text = name.startsWith('--no-') ? description.replace(/ \(default: true\)\s*$/, '') : description;
          return `  ${name.padEnd(width)}  ${text.trimEnd()}`;
        })
        .join('\n'),
    };
  });
  // One line per action: "status: …; rollback: …" reads as a list.
  out.splice(1, 0, { body: command.description.split(/; (?=[a-z][a-z -]*(?:\|[a-z]+)*: )/).join('\n') });
  return out;
}

/** `crossdock help [command]` is `crossdock [command] --help`. Pure. */
export function helpArgv(argv: readonly string[]): string[] {
  const [node = 'node', bin = 'crossdock', first, second] = argv;
  if (first !== 'help') return [...argv];
  return second ? [node, bin, second, '--help'] : [node, bin, '--help'];
}

/** cac reports an unknown option camelCased (`--outDir`): name it as it was typed. Pure. */
export function typedOption(message: string, argv: readonly string[]): string {
  const match = /^Unknown option `(-{1,2})([^`]+)`/.exec(message);
  if (!match) return message;
  const camel = match[2] ?? '';
  const typed = argv.find(
    (arg) =>
      arg.startsWith('-') &&
      arg
        .replace(/^-+/, '')
        .split('=')[0]
        ?.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase()) === camel,
  );
  return typed ? `unknown option ${typed.split('=')[0] ?? typed}` : `unknown option ${match[1] ?? ''}${camel}`;
}

export async function main(rawArgv: string[] = process.argv): Promise<number> {
  const argv = helpArgv(rawArgv);
  const [first] = argv.slice(2);
  if (first === '--version' || first === '-v') {
    process.stdout.write(`crossdock/${packageVersion()} ${process.platform}-${process.arch} node-${process.version}\n`);
    return ExitCode.Ok;
  }
  const cli = createCli();
  try {
    cli.parse(argv, { run: false });
    // `build --version 1.2.3` is a command's flag, not the global --version.
    if (cli.options.help) return ExitCode.Ok;
    if (!cli.matchedCommand) {
      const [unknown] = cli.args;
      if (unknown !== undefined) {
        process.stderr.write(`crossdock: unknown command "${unknown}"\n  hint: crossdock --help lists the commands\n`);
        return ExitCode.Usage;
      }
      cli.outputHelp();
      return ExitCode.Usage;
    }
    const code: unknown = await cli.runMatchedCommand();
    return typeof code === 'number' ? code : ExitCode.Ok;
  } catch (error) {
    if (error instanceof Error && error.name === 'CACError') error.message = typedOption(error.message, argv);
    return report(error);
  }
}

export function report(error: unknown): number {
  if (isCrossdockError(error)) {
    process.stderr.write(`crossdock: ${error.message}\n`);
    if (error.hint) process.stderr.write(`  hint: ${error.hint}\n`);
    // In a workflow the error is also an annotation, pinned to the file and line it names.
    emit(errorAnnotation(error.message, error.hint));
    return error.exitCode;
  }
  // cac's own errors: an unknown option, a missing argument.
  if (error instanceof Error && error.name === 'CACError') {
    process.stderr.write(`crossdock: ${error.message}\n  hint: crossdock --help, or crossdock COMMAND --help\n`);
    return ExitCode.Usage;
  }
  process.stderr.write(
    `crossdock: this is a bug, please report it with the lines below\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return ExitCode.Internal;
}
