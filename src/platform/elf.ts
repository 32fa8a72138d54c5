/**
 * A bounds-checked ELF reader: header, program headers (PT_INTERP), section headers, ARM build
 * attributes (.ARM.attributes) and Go build info (.go.buildinfo). Pure: it reads through a
 * `ByteSource`, so the same code reads a 100 MB dockerd from disk without loading it whole and
 * a 64-byte header sent back by a board.
 */
import {
  ARM_ATTRIBUTE_TAGS,
  ARM_CPU_ARCHITECTURES,
  type ArmCpuArchitecture,
  EF_ARM_ABI_FLOAT_HARD,
  EF_ARM_ABI_FLOAT_SOFT,
  EF_ARM_EABI_MASK,
  ELF_MACHINES,
  PT_DYNAMIC,
  PT_INTERP,
  PT_LOAD,
  SHT_ARM_ATTRIBUTES,
} from './elf-constants.js';

export interface ByteSource {
  readonly size: number;
  /** Returns up to `length` bytes at `offset` (fewer only at the end of the source). */
  read(offset: number, length: number): Uint8Array;
}

export function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: (offset, length) => bytes.subarray(offset, Math.min(bytes.length, offset + length)),
  };
}

export class ElfFormatError extends Error {
  constructor(
    message: string,
    readonly kind: 'not-elf' | 'truncated' | 'malformed',
  ) {
    super(message);
    this.name = 'ElfFormatError';
  }
}

export interface ElfHeader {
  class: 32 | 64;
  endianness: 'little' | 'big';
  type: 'relocatable' | 'executable' | 'shared' | 'core' | 'unknown';
  machineCode: number;
  /** `uname -m` style name (`aarch64`, `arm`, `x86_64`), or `em-<number>` for the rest. */
  machine: string;
  flags: number;
  programHeaderOffset: number;
  programHeaderSize: number;
  programHeaderCount: number;
  sectionHeaderOffset: number;
  sectionHeaderSize: number;
  sectionHeaderCount: number;
  sectionNameIndex: number;
}

export interface ProgramHeader {
  type: number;
  flags: number;
  offset: number;
  virtualAddress: number;
  fileSize: number;
  memorySize: number;
}

export interface SectionHeader {
  name: string;
  type: number;
  offset: number;
  size: number;
}

export interface ArmAttributes {
  cpuArch: ArmCpuArchitecture | null;
  cpuArchProfile: 'A' | 'R' | 'M' | 'S' | null;
  cpuName: string | null;
  /** Tag_ABI_VFP_args: 0 base (soft) AAPCS, 1 VFP registers (hard), 2 toolchain, 3 both. */
  vfpArgs: number | null;
  fpArch: number | null;
}

export interface GoModule {
  path: string;
  version: string;
  sum: string | null;
}

export interface GoBuildInfo {
  goVersion: string;
  path: string | null;
  /** The main module and its dependencies (`mod` and `dep` lines), empty in GOPATH mode. */
  main: GoModule | null;
  dependencies: GoModule[];
  /** `build` lines of the module info: GOARCH, GOARM, CGO_ENABLED, -tags, -ldflags, … */
  settings: Record<string, string>;
}

export interface ElfFile {
  header: ElfHeader;
  programHeaders: ProgramHeader[];
  sections: SectionHeader[];
  interpreter: string | null;
  hasDynamicSection: boolean;
  armAttributes: ArmAttributes | null;
  goBuildInfo: GoBuildInfo | null;
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
const ELF_TYPES = ['unknown', 'relocatable', 'executable', 'shared', 'core'] as const;

class Reader {
  constructor(
    private readonly source: ByteSource,
    readonly littleEndian: boolean,
  ) {}

  get size(): number {
    return this.source.size;
  }

  bytes(offset: number, length: number, what: string): Uint8Array {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > this.source.size) {
      throw new ElfFormatError(
        `truncated ELF: ${what} needs bytes ${offset}–${offset + length} but the file has ${this.source.size}`,
        'truncated',
      );
    }
    return this.source.read(offset, length);
  }

  view(offset: number, length: number, what: string): DataView {
    const bytes = this.bytes(offset, length, what);
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
}

function word(view: DataView, at: number, size: 4 | 8, little: boolean): number {
  if (size === 4) return view.getUint32(at, little);
  const value = view.getBigUint64(at, little);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ElfFormatError(`malformed ELF: offset ${value} is out of range`, 'malformed');
  }
  return Number(value);
}

/** Parses the ELF file header alone; 52 bytes (ELF32) or 64 bytes (ELF64) are enough. */
export function readElfHeader(source: ByteSource): ElfHeader {
  const ident = source.read(0, 16);
  if (ident.length < 4 || !ELF_MAGIC.every((byte, index) => ident[index] === byte)) {
    const start = [...source.read(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new ElfFormatError(`not an ELF file (starts with ${start || 'nothing: the file is empty'})`, 'not-elf');
  }
  if (ident.length < 16) {
    throw new ElfFormatError(
      `truncated ELF: the identification needs 16 bytes, the file has ${source.size}`,
      'truncated',
    );
  }
  const elfClass = ident[4];
  const data = ident[5];
  if (elfClass !== 1 && elfClass !== 2) {
    throw new ElfFormatError(`malformed ELF: unknown class ${elfClass}`, 'malformed');
  }
  if (data !== 1 && data !== 2) {
    throw new ElfFormatError(`malformed ELF: unknown data encoding ${data}`, 'malformed');
  }
  const is64 = elfClass === 2;
  const little = data === 1;
  const reader = new Reader(source, little);
  const size = is64 ? 64 : 52;
  const view = reader.view(0, size, 'the ELF header');
  const pointer = is64 ? 8 : 4;
  const machineCode = view.getUint16(18, little);
  const type = view.getUint16(16, little);
  const at = is64
    ? { phoff: 32, shoff: 40, flags: 48, phentsize: 54 }
    : { phoff: 28, shoff: 32, flags: 36, phentsize: 42 };
  return {
    class: is64 ? 64 : 32,
    endianness: little ? 'little' : 'big',
    type: ELF_TYPES[type] ?? 'unknown',
    machineCode,
    machine: ELF_MACHINES[machineCode] ?? `em-${machineCode}`,
    flags: view.getUint32(at.flags, little),
    programHeaderOffset: word(view, at.phoff, pointer, little),
    sectionHeaderOffset: word(view, at.shoff, pointer, little),
    programHeaderSize: view.getUint16(at.phentsize, little),
    programHeaderCount: view.getUint16(at.phentsize + 2, little),
    sectionHeaderSize: view.getUint16(at.phentsize + 4, little),
    sectionHeaderCount: view.getUint16(at.phentsize + 6, little),
    sectionNameIndex: view.getUint16(at.phentsize + 8, little),
  };
}

export function readElf(source: ByteSource): ElfFile {
  const header = readElfHeader(source);
  const little = header.endianness === 'little';
  const reader = new Reader(source, little);
  const programHeaders = readProgramHeaders(reader, header);
  const sections = readSections(reader, header);

  const interpreterHeader = programHeaders.find((ph) => ph.type === PT_INTERP);
  const interpreter = interpreterHeader
    ? cString(reader.bytes(interpreterHeader.offset, interpreterHeader.fileSize, 'PT_INTERP'))
    : null;

  const attributesSection = sections.find(
    (section) => section.type === SHT_ARM_ATTRIBUTES || section.name === '.ARM.attributes',
  );
  const armAttributes =
    header.machine === 'arm' && attributesSection
      ? parseArmAttributes(reader.bytes(attributesSection.offset, attributesSection.size, '.ARM.attributes'))
      : null;

  return {
    header,
    programHeaders,
    sections,
    interpreter,
    hasDynamicSection: programHeaders.some((ph) => ph.type === PT_DYNAMIC),
    armAttributes,
    goBuildInfo: readGoBuildInfo(reader, programHeaders, sections),
  };
}

function readProgramHeaders(reader: Reader, header: ElfHeader): ProgramHeader[] {
  const is64 = header.class === 64;
  const entrySize = is64 ? 56 : 32;
  if (header.programHeaderCount === 0) return [];
  if (header.programHeaderSize < entrySize) {
    throw new ElfFormatError(`malformed ELF: program header entries of ${header.programHeaderSize} bytes`, 'malformed');
  }
  const headers: ProgramHeader[] = [];
  const little = reader.littleEndian;
  for (let index = 0; index < header.programHeaderCount; index++) {
    const view = reader.view(
      header.programHeaderOffset + index * header.programHeaderSize,
      entrySize,
      `program header ${index} of ${header.programHeaderCount}`,
    );
    headers.push(
      is64
        ? {
            type: view.getUint32(0, little),
            flags: view.getUint32(4, little),
            offset: word(view, 8, 8, little),
            virtualAddress: word(view, 16, 8, little),
            fileSize: word(view, 32, 8, little),
            memorySize: word(view, 40, 8, little),
          }
        : {
            type: view.getUint32(0, little),
            offset: view.getUint32(4, little),
            virtualAddress: view.getUint32(8, little),
            fileSize: view.getUint32(16, little),
            memorySize: view.getUint32(20, little),
            flags: view.getUint32(24, little),
          },
    );
  }
  return headers;
}

function readSections(reader: Reader, header: ElfHeader): SectionHeader[] {
  if (header.sectionHeaderOffset === 0) return [];
  const is64 = header.class === 64;
  const entrySize = is64 ? 64 : 40;
  if (header.sectionHeaderSize < entrySize) {
    throw new ElfFormatError(`malformed ELF: section header entries of ${header.sectionHeaderSize} bytes`, 'malformed');
  }
  const little = reader.littleEndian;
  const raw = (index: number) => {
    const view = reader.view(
      header.sectionHeaderOffset + index * header.sectionHeaderSize,
      entrySize,
      `section header ${index}`,
    );
    return {
      nameOffset: view.getUint32(0, little),
      type: view.getUint32(4, little),
      offset: word(view, is64 ? 24 : 16, is64 ? 8 : 4, little),
      size: word(view, is64 ? 32 : 20, is64 ? 8 : 4, little),
      link: view.getUint32(is64 ? 40 : 24, little),
    };
  };
  // Extended numbering: with 0xff00 sections or more the real counts live in section 0.
  let count = header.sectionHeaderCount;
  let namesIndex = header.sectionNameIndex;
  if (count === 0 || namesIndex === 0xffff) {
    const first = raw(0);
    if (count === 0) count = first.size;
    if (namesIndex === 0xffff) namesIndex = first.link;
  }
  if (count > 65536 * 16) throw new ElfFormatError(`malformed ELF: ${count} sections`, 'malformed');
  const entries = Array.from({ length: count }, (_, index) => raw(index));
  const names = entries[namesIndex];
  const nameTable =
    names && names.type !== 8 /* SHT_NOBITS */
      ? reader.bytes(names.offset, names.size, 'the section name table')
      : new Uint8Array();
  return entries.map((entry) => ({
    name: cString(nameTable.subarray(entry.nameOffset)),
    type: entry.type,
    offset: entry.offset,
    size: entry.type === 8 ? 0 : entry.size,
  }));
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end === -1 ? bytes : bytes.subarray(0, end));
}

/** Decodes an unsigned LEB128 at `position`; returns the value and the next position. */
function uleb128(bytes: Uint8Array, position: number): [number, number] {
  let value = 0;
  let shift = 0;
  let at = position;
  for (;;) {
    const byte = bytes[at];
    if (byte === undefined) throw new ElfFormatError('malformed .ARM.attributes: truncated number', 'malformed');
    at++;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, at];
    shift += 7;
    if (shift > 49) throw new ElfFormatError('malformed .ARM.attributes: number too long', 'malformed');
  }
}

/**
 * Parses the "aeabi" public attributes of a .ARM.attributes section (ARM IHI 0045, "Build
 * Attributes"). Only file-scope attributes (Tag_File) describe the whole binary.
 */
export function parseArmAttributes(section: Uint8Array): ArmAttributes {
  const result: ArmAttributes = {
    cpuArch: null,
    cpuArchProfile: null,
    cpuName: null,
    vfpArgs: null,
    fpArch: null,
  };
  if (section[0] !== 0x41 /* 'A' */) {
    throw new ElfFormatError('malformed .ARM.attributes: unknown format version', 'malformed');
  }
  const view = new DataView(section.buffer, section.byteOffset, section.byteLength);
  let position = 1;
  while (position + 4 <= section.length) {
    const length = view.getUint32(position, true);
    const end = position + length;
    if (length < 5 || end > section.length) {
      throw new ElfFormatError('malformed .ARM.attributes: bad subsection length', 'malformed');
    }
    const vendorEnd = section.indexOf(0, position + 4);
    if (vendorEnd === -1 || vendorEnd >= end) {
      throw new ElfFormatError('malformed .ARM.attributes: unterminated vendor name', 'malformed');
    }
    const vendor = cString(section.subarray(position + 4, vendorEnd + 1));
    if (vendor === 'aeabi') parseAeabiSubsection(section.subarray(vendorEnd + 1, end), result);
    position = end;
  }
  return result;
}

function parseAeabiSubsection(bytes: Uint8Array, result: ArmAttributes): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let position = 0;
  while (position < bytes.length) {
    const [scope, afterTag] = uleb128(bytes, position);
    if (afterTag + 4 > bytes.length) throw new ElfFormatError('malformed .ARM.attributes: truncated', 'malformed');
    const size = view.getUint32(afterTag, true);
    const end = position + size;
    if (size < 5 || end > bytes.length) {
      throw new ElfFormatError('malformed .ARM.attributes: bad attribute block length', 'malformed');
    }
    if (scope === ARM_ATTRIBUTE_TAGS.file) parseAttributes(bytes.subarray(afterTag + 4, end), result);
    position = end;
  }
}

function parseAttributes(bytes: Uint8Array, result: ArmAttributes): void {
  let position = 0;
  const readString = () => {
    const end = bytes.indexOf(0, position);
    if (end === -1) throw new ElfFormatError('malformed .ARM.attributes: unterminated string', 'malformed');
    const text = cString(bytes.subarray(position, end + 1));
    position = end + 1;
    return text;
  };
  while (position < bytes.length) {
    const [tag, next] = uleb128(bytes, position);
    position = next;
    // Which tags carry strings is fixed by the ABI: 4, 5, 67, and odd tags above 32.
    if (
      tag === ARM_ATTRIBUTE_TAGS.cpuRawName ||
      tag === ARM_ATTRIBUTE_TAGS.cpuName ||
      tag === ARM_ATTRIBUTE_TAGS.conformance ||
      (tag > 32 && tag % 2 === 1)
    ) {
      const text = readString();
      if (tag === ARM_ATTRIBUTE_TAGS.cpuName) result.cpuName = text;
      continue;
    }
    if (tag === ARM_ATTRIBUTE_TAGS.compatibility) {
      [, position] = uleb128(bytes, position);
      readString();
      continue;
    }
    const [value, after] = uleb128(bytes, position);
    position = after;
    if (tag === ARM_ATTRIBUTE_TAGS.cpuArch) result.cpuArch = ARM_CPU_ARCHITECTURES[value] ?? null;
    else if (tag === ARM_ATTRIBUTE_TAGS.cpuArchProfile) {
      const profile = String.fromCharCode(value);
      result.cpuArchProfile = profile === 'A' || profile === 'R' || profile === 'M' || profile === 'S' ? profile : null;
    } else if (tag === ARM_ATTRIBUTE_TAGS.abiVfpArgs) result.vfpArgs = value;
    else if (tag === ARM_ATTRIBUTE_TAGS.fpArch) result.fpArch = value;
  }
}

/** The float ABI an ARM EABI5 header declares in e_flags, if it declares one. */
export function armFloatAbiFromFlags(flags: number): 'hard' | 'soft' | null {
  if ((flags & EF_ARM_EABI_MASK) >>> 24 !== 5) return null;
  if (flags & EF_ARM_ABI_FLOAT_HARD) return 'hard';
  if (flags & EF_ARM_ABI_FLOAT_SOFT) return 'soft';
  return null;
}

// --- Go build info (see Go's src/debug/buildinfo/buildinfo.go for the format) ---

const GO_BUILDINFO_MAGIC = Uint8Array.from([0xff, ...new TextEncoder().encode(' Go buildinf:')]);
const PF_W = 2;
const SCAN_CHUNK = 1 << 20;

function readGoBuildInfo(
  reader: Reader,
  programHeaders: ProgramHeader[],
  sections: SectionHeader[],
): GoBuildInfo | null {
  const section = sections.find((s) => s.name === '.go.buildinfo');
  let start: number | undefined;
  if (section && section.size >= 32) start = section.offset;
  else {
    // Without section headers, Go's own reader scans the first writable segment.
    const segment = programHeaders.find((ph) => ph.type === PT_LOAD && ph.flags & PF_W);
    if (segment) start = findMagic(reader, segment.offset, segment.fileSize);
  }
  if (start === undefined) return null;
  const head = reader.bytes(start, 32, '.go.buildinfo');
  if (!GO_BUILDINFO_MAGIC.every((byte, index) => head[index] === byte)) return null;
  const pointerSize = head[14];
  const flags = head[15] ?? 0;
  let version: string;
  let modules: string;
  if (flags & 2) {
    // Go 1.18+: the strings follow the header, each prefixed by its varint length.
    const available = Math.min(1 << 16, reader.size - (start + 32));
    const tail = reader.bytes(start + 32, Math.max(0, available), '.go.buildinfo');
    const [versionText, next] = varintString(tail, 0);
    [modules] = varintString(tail, next);
    version = versionText;
  } else {
    if (pointerSize !== 4 && pointerSize !== 8) return null;
    const little = (flags & 1) === 0;
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const pointerAt = (at: number) =>
      pointerSize === 8 ? Number(view.getBigUint64(at, little)) : view.getUint32(at, little);
    version = goStringAt(reader, programHeaders, pointerAt(16), pointerSize, little) ?? '';
    modules = goStringAt(reader, programHeaders, pointerAt(16 + pointerSize), pointerSize, little) ?? '';
  }
  if (!version) return null;
  return { goVersion: version, ...parseModuleInfo(modules) };
}

function findMagic(reader: Reader, offset: number, length: number): number | undefined {
  for (let at = offset; at < offset + length; at += SCAN_CHUNK) {
    const size = Math.min(SCAN_CHUNK + 16, offset + length - at);
    let chunk: Uint8Array;
    try {
      chunk = reader.bytes(at, size, 'a data segment');
    } catch {
      return undefined;
    }
    for (let index = 0; index + GO_BUILDINFO_MAGIC.length <= chunk.length; index += 16) {
      if (GO_BUILDINFO_MAGIC.every((byte, k) => chunk[index + k] === byte)) return at + index;
    }
  }
  return undefined;
}

function varintString(bytes: Uint8Array, position: number): [string, number] {
  let length = 0;
  let shift = 0;
  let at = position;
  for (;;) {
    const byte = bytes[at++];
    if (byte === undefined) return ['', at];
    length += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) break;
    shift += 7;
  }
  return [new TextDecoder().decode(bytes.subarray(at, at + length)), at + length];
}

function goStringAt(
  reader: Reader,
  programHeaders: ProgramHeader[],
  address: number,
  pointerSize: number,
  little: boolean,
): string | null {
  const headerOffset = virtualToFile(programHeaders, address);
  if (headerOffset === undefined) return null;
  const view = reader.view(headerOffset, pointerSize * 2, 'a Go string header');
  const data = pointerSize === 8 ? Number(view.getBigUint64(0, little)) : view.getUint32(0, little);
  const length = pointerSize === 8 ? Number(view.getBigUint64(8, little)) : view.getUint32(4, little);
  const dataOffset = virtualToFile(programHeaders, data);
  if (dataOffset === undefined || length > 1 << 20) return null;
  return new TextDecoder().decode(reader.bytes(dataOffset, length, 'a Go string'));
}

function virtualToFile(programHeaders: ProgramHeader[], address: number): number | undefined {
  for (const ph of programHeaders) {
    if (ph.type === PT_LOAD && address >= ph.virtualAddress && address < ph.virtualAddress + ph.fileSize) {
      return ph.offset + (address - ph.virtualAddress);
    }
  }
  return undefined;
}

/** Parses `path`, `mod`, `dep` and `build KEY=VALUE` lines of a Go binary's module info. */
export function parseModuleInfo(text: string): Omit<GoBuildInfo, 'goVersion'> {
  // The module info is wrapped in 16-byte sentinels that mark where it starts and ends.
  const body = text.length >= 33 && text[text.length - 17] === '\n' ? text.slice(16, -16) : text;
  const settings: Record<string, string> = {};
  let path: string | null = null;
  let main: GoModule | null = null;
  const dependencies: GoModule[] = [];
  for (const line of body.split('\n')) {
    // Split at the first tab only: `dep` lines carry three more tab-separated fields.
    const tab = line.indexOf('\t');
    const kind = tab === -1 ? line : line.slice(0, tab);
    const rest = tab === -1 ? '' : line.slice(tab + 1);
    if (kind === 'path') path = rest;
    if (kind === 'mod' || kind === 'dep') {
      const [modulePath = '', version = '', sum = ''] = rest.split('\t');
      const module = { path: modulePath, version, sum: sum || null };
      if (kind === 'mod') main = module;
      else dependencies.push(module);
    }
    if (kind !== 'build') continue;
    const separator = rest.indexOf('=');
    if (separator <= 0) continue;
    const key = rest.slice(0, separator);
    let value = rest.slice(separator + 1);
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        // Go quotes with strconv.Quote; JSON reads all but exotic escapes, keep those verbatim.
      }
    }
    settings[key] = value;
  }
  return { path, main, dependencies, settings };
}
