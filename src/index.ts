/**
 * crossdock's programmatic API: everything the CLI does, without the CLI.
 *
 *   import { loadTargets, resolveTarget, inspectFile, loadConfig } from 'crossdock';
 */
export type { Config, ConfigInput, Component } from './config/schema.js';
export { COMPONENTS, ConfigSchema, DEFAULT_TARGETS } from './config/schema.js';
export { loadConfig, type LoadConfigOptions, type LoadedConfig, type ConfigOverrides } from './config/load.js';
export { DocumentError, type DocumentProblem } from './config/document.js';
export * from './errors.js';
export { LocalRunner, type LocalRunnerOptions } from './exec/local-runner.js';
export { Redactor } from './exec/redact.js';
export { formatCommand, shellQuote, type RunOptions, type RunResult, type Runner } from './exec/runner.js';
export { readElf, readElfHeader, bufferSource, type ElfFile, type ByteSource } from './platform/elf.js';
export { readElfFile } from './platform/elf-file.js';
export { describeElf, inspectFile, type InspectReport } from './platform/inspect.js';
export { identifyBoard, parseCpuinfo, type BoardIdentity, type BoardReport, UnsupportedBoardError } from './platform/identify-board.js';
export { findTargets, resolveTarget, AmbiguousTargetNameError, UnknownTargetNameError, type TargetMatch } from './platform/resolve.js';
export { loadTargets, buildRegistry, type Target, type TargetRegistry, type BoardProfile } from './platform/targets.js';
export { VOCABULARIES, TargetSchema, type Vocabulary, type TargetDefinition } from './platform/target-schema.js';
export { goEnvironment, ociPlatform, namesOf } from './platform/vocabulary.js';
export { loadToolchains, expandTemplate, toolchainPackages, versionSatisfies, type Toolchain } from './toolchain/definitions.js';
export { chooseRenderer, createTaskList, type RendererChoice } from './ui/renderer.js';
