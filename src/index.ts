/**
 * crossdock's programmatic API: everything the CLI does, without the CLI.
 *
 *   import { loadTargets, resolveTarget, inspectFile, loadConfig } from 'crossdock';
 */

export { DocumentError, type DocumentProblem } from './document/document.js';
export {
  type ConfigOverrides,
  type LoadConfigOptions,
  type LoadedConfig,
  loadConfig,
  type ResolvedConfig,
} from './config/load.js';
export type { Component, Config, ConfigInput } from './config/schema.js';
export { COMPONENTS, ConfigSchema } from './config/schema.js';
export * from './errors.js';
export { LocalRunner, type LocalRunnerOptions } from './exec/local-runner.js';
export { Redactor } from './exec/redact.js';
export { formatCommand, type Runner, type RunOptions, type RunResult, shellQuote } from './exec/runner.js';
export { type ByteSource, bufferSource, type ElfFile, readElf, readElfHeader } from './platform/elf.js';
export { readElfFile } from './platform/elf-file.js';
export {
  type BoardIdentity,
  type BoardReport,
  identifyBoard,
  parseCpuinfo,
  UnsupportedBoardError,
} from './platform/identify-board.js';
export { describeElf, type InspectReport, inspectFile } from './platform/inspect.js';
export {
  AmbiguousTargetNameError,
  findTargets,
  resolveTarget,
  type TargetMatch,
  UnknownTargetNameError,
} from './platform/resolve.js';
export { type TargetDefinition, TargetSchema, VOCABULARIES, type Vocabulary } from './platform/target-schema.js';
export { type BoardProfile, buildRegistry, loadTargets, type Target, type TargetRegistry } from './platform/targets.js';
export { goEnvironment, namesOf, ociPlatform } from './platform/vocabulary.js';
export {
  expandTemplate,
  loadToolchains,
  type Toolchain,
  toolchainPackages,
  versionSatisfies,
} from './platform/toolchains.js';
export { chooseRenderer, createTaskList, type RendererChoice } from './ui/renderer.js';
export type { ProgressEvent, ProgressSink } from './ui/progress-events.js';
export { findExecutable } from './exec/find-executable.js';
export { hostTarget, hostDistribution, parseOsRelease, type Distribution } from './platform/host.js';
export { doctor, type Check, type DoctorReport, type TargetReadiness } from './toolchain/doctor.js';
export { planSetup, setupTasks, isEmptyPlan, type SetupPlan } from './toolchain/setup.js';
export { verifyTarget, type ProbeResult } from './toolchain/verify.js';
export {
  binfmtStatus,
  binfmtInstall,
  binfmtUninstall,
  type BinfmtContext,
  type HandlerStatus,
} from './binfmt/binfmt.js';
export { defaultBinfmtPaths, type BinfmtPaths } from './binfmt/binfmt-misc.js';
export {
  registrationLine,
  parseEntry,
  compareEntry,
  desiredEntry,
  type BinfmtEntry,
  type BinfmtSpec,
} from './binfmt/entry.js';
export { runUnderEmulation, type EmulationResult } from './emulation/run-under-emulation.js';
export { probeProgram } from './emulation/test-programs.js';
export { build, BuildFailedError, selectParts, type BuildOptions, type BuildResult } from './builder/build.js';
export { verifyDist, type DistVerification } from './builder/verify-dist.js';
export { verifyBinary, type BinaryVerification } from './builder/verify-binary.js';
export { DEFAULT_SOURCES, partsWith } from './builder/recipes.js';
export { BUILTIN_SOURCES, detectLayout, directoryTree, type Layout, type SourceTree } from './builder/release-lines.js';
export { resolveDockerRelease, type DockerRelease } from './builder/docker-release.js';
export { resolveGo, type GoToolchain } from './toolchain/go-toolchain.js';
export { RecipeSchema, type Recipe } from './builder/recipe-schema.js';
export { type Manifest, type ManifestArtifact, type ManifestBinary } from './artifacts/manifest.js';
export { parseReleaseTag, shouldMakeLatest, mergeDists, planAssets } from './release/plan.js';
export {
  publishRelease,
  type PublishOptions,
  type ReleaseReport,
  type AssetOutcome,
  type NotesSource,
} from './release/publish.js';
export { readDist } from './artifacts/read-dist.js';
export { releaseNotes, gitChanges } from './release/notes.js';
export {
  loadInventory,
  limitHosts,
  parseSshG,
  InventorySchema,
  type Inventory,
  type InventoryHost,
} from './remote/inventory.js';
export { SshRunner, type ConnectOptions, defaultKnownHosts } from './remote/ssh-runner.js';
export {
  parseKnownHosts,
  verifyHostKey,
  knownHostsLine,
  fingerprint,
  type HostKeyVerdict,
} from './remote/known-hosts.js';
export { probeBoard, parseProbe, probeScript, type ProbeReport } from './install/board-probe.js';
export { forEachHost, type HostOutcome } from './remote/fleet.js';
export { boardsUp, boardsDown, listBoards, prepareModel, type BoardRecord } from './boards/board.js';
export { loadBoardModels, type BoardModel } from './boards/models.js';
export { install, type InstallOptions, type InstallReport, parseBatch, waves } from './install/install.js';
export { installHost, type HostResult, type HostStatus } from './install/install-host.js';
export { chooseBundle, versionsToPrune, boardLayout } from './install/plan.js';
export { hostStatus, rollbackHost } from './install/fleet-ops.js';
export { swarmInit, swarmLeave, swarmStatus, type SwarmReport } from './install/swarm.js';
export { enableTls, disableTls, tlsStatus, checkApi, type TlsHostResult } from './install/remote-api.js';
export { FleetCa, defaultCaDirectory } from './install/fleet-ca.js';
export { writeDockerContext, dockerConfigDirectory } from './install/docker-context.js';
export { apiEndpoint, subjectAltNames, planTls, remoteApiDropIn } from './install/remote-api-plan.js';
export { pipeline, type PipelineReport } from './pipeline.js';
export { DEFAULT_FLEET, ensureDefaultFleet } from './boards/default-fleet.js';
