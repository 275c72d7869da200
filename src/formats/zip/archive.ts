import { FormatError } from "../../core/errors.js";
import type { ByteSource } from "../../storage/types.js";

/** One central-directory record, as an object (made on request; the archive keeps columns). */
export interface ZipEntry {
  /** Position in the central directory. */
  readonly index: number;
  readonly name: string;
  readonly method: number;
  readonly flags: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localHeaderOffset: number;
}

/** What the central-directory parser hands over, one column per field. */
export interface ZipColumns {
  count: number;
  /**
   * Every record's name, back to back (nameAt indexes into it): copied out of the central
   * directory, whose other bytes (46 per record, and extra fields) are not kept.
   */
  nameBytes: Buffer;
  /** Where the central directory starts in the file: every record lies before it. */
  directoryOffset: number;
  nameAt: Uint32Array;
  nameLength: Uint16Array;
  flags: Uint16Array;
  method: Uint16Array;
  crc32: Uint32Array;
  compressedSize: Float64Array;
  uncompressedSize: Float64Array;
  localHeaderOffset: Float64Array;
}

/**
 * A zip's central directory, kept as columns. A torch checkpoint of a
 * mixture-of-experts model holds hundreds of thousands of records: an object,
 * a name string and a Map entry each were most of the memory its metadata
 * took, and two thirds of the time to read it. Names are looked up through a
 * hash table over their bytes; strings and entry objects are made only for
 * the records someone asks about.
 */
export class ZipArchive implements ZipColumns {
  readonly count: number;
  readonly nameBytes: Buffer;
  readonly directoryOffset: number;
  readonly nameAt: Uint32Array;
  readonly nameLength: Uint16Array;
  readonly flags: Uint16Array;
  readonly method: Uint16Array;
  readonly crc32: Uint32Array;
  readonly compressedSize: Float64Array;
  readonly uncompressedSize: Float64Array;
  readonly localHeaderOffset: Float64Array;
  /** Where each record's data starts once its local header was read and checked (entry.ts); -1 until then. */
  readonly dataOffset: Float64Array;
  comment?: string;
  /** Open addressing over the names' bytes: slot -> record index + 1 (0 = empty). ASCII names only. */
  private readonly slots: Int32Array;
  /** Each record's name hash: probes compare it before any byte (torch's names share a long prefix). */
  private readonly hashes: Int32Array;
  /** Names with a byte >= 0x80, by their decoded string (decodings, not bytes, are what a loader compares). */
  private readonly other = new Map<string, number>();
  private all: ZipEntry[] | undefined;

  constructor(
    readonly file: ByteSource,
    c: ZipColumns,
  ) {
    this.count = c.count;
    this.nameBytes = c.nameBytes;
    this.directoryOffset = c.directoryOffset;
    this.nameAt = c.nameAt;
    this.nameLength = c.nameLength;
    this.flags = c.flags;
    this.method = c.method;
    this.crc32 = c.crc32;
    this.compressedSize = c.compressedSize;
    this.uncompressedSize = c.uncompressedSize;
    this.localHeaderOffset = c.localHeaderOffset;
    this.dataOffset = new Float64Array(c.count).fill(-1);
    let size = 16;
    while (size < c.count * 2) size *= 2;
    this.slots = new Int32Array(size);
    this.hashes = new Int32Array(c.count);
    for (let i = 0; i < c.count; i++) this.insert(i);
  }

  /** Two records with one name let a scanner and a loader read different bytes: refused. */
  private insert(i: number): void {
    const at = this.nameAt[i]!;
    const len = this.nameLength[i]!;
    const d = this.nameBytes;
    let h = 0x811c9dc5 | 0;
    let ascii = true;
    for (let k = at; k < at + len; k++) {
      const b = d[k]!;
      if (b >= 0x80) ascii = false;
      h = Math.imul(h ^ b, 0x01000193);
    }
    if (!ascii) {
      const name = this.nameOf(i);
      if (this.other.has(name)) this.duplicate(i);
      this.other.set(name, i);
      return;
    }
    this.hashes[i] = h;
    const mask = this.slots.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const j = this.slots[s]! - 1;
      if (j < 0) {
        this.slots[s] = i + 1;
        return;
      }
      if (this.hashes[j] === h && this.nameLength[j] === len && d.compare(d, at, at + len, this.nameAt[j]!, this.nameAt[j]! + len) === 0) this.duplicate(i);
    }
  }

  private duplicate(i: number): never {
    const name = this.nameOf(i);
    throw new FormatError("ZIP_DUPLICATE_NAME", `the zip has two entries named ${JSON.stringify(name)}`, this.localHeaderOffset[i]!, { entry: name });
  }

  /** The index of the record named `name + suffix` (joined without making the string), or -1. */
  indexOf(name: string, suffix = ""): number {
    const n = name.length;
    const len = n + suffix.length;
    let h = 0x811c9dc5 | 0;
    for (let k = 0; k < len; k++) {
      const c = k < n ? name.charCodeAt(k) : suffix.charCodeAt(k - n);
      if (c >= 0x80) return this.other.get(name + suffix) ?? -1;
      h = Math.imul(h ^ c, 0x01000193);
    }
    const d = this.nameBytes;
    const mask = this.slots.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const j = this.slots[s]! - 1;
      if (j < 0) return -1;
      if (this.hashes[j] !== h || this.nameLength[j] !== len) continue;
      const at = this.nameAt[j]!;
      let k = 0;
      while (k < len && d[at + k] === (k < n ? name.charCodeAt(k) : suffix.charCodeAt(k - n))) k++;
      if (k === len) return j;
    }
  }

  find(name: string, suffix = ""): ZipEntry | undefined {
    const i = this.indexOf(name, suffix);
    return i < 0 ? undefined : this.entry(i);
  }

  has(name: string): boolean {
    return this.indexOf(name) >= 0;
  }

  /** Compatibility with code that looked entries up in a Map. */
  get byName(): { get(name: string): ZipEntry | undefined; has(name: string): boolean } {
    return { get: (name) => this.find(name), has: (name) => this.has(name) };
  }

  /** Every record as an entry object, made on first use and kept (small archives, --deep, tests). */
  get entries(): ZipEntry[] {
    if (!this.all) {
      const all: ZipEntry[] = new Array(this.count);
      for (let i = 0; i < this.count; i++) all[i] = this.entry(i);
      this.all = all;
    }
    return this.all;
  }

  entry(i: number): ZipEntry {
    if (this.all) return this.all[i]!;
    return {
      index: i,
      name: this.nameOf(i),
      method: this.method[i]!,
      flags: this.flags[i]!,
      crc32: this.crc32[i]!,
      compressedSize: this.compressedSize[i]!,
      uncompressedSize: this.uncompressedSize[i]!,
      localHeaderOffset: this.localHeaderOffset[i]!,
    };
  }

  nameOf(i: number): string {
    const at = this.nameAt[i]!;
    return decodeName(this.nameBytes, at, at + this.nameLength[i]!, this.flags[i]!);
  }
}

const utf8 = new TextDecoder("utf-8");
const latin1 = new TextDecoder("latin1");

/**
 * Bit 11 means UTF-8; otherwise the spec says CP437, which agrees with ASCII (all torch writes).
 * ASCII names, which both decoders map alike, are taken straight from the bytes.
 */
export function decodeName(bytes: Buffer, start: number, end: number, flags: number): string {
  for (let i = start; i < end; i++) {
    if (bytes[i]! >= 0x80) return (flags & 0x800 ? utf8 : latin1).decode(bytes.subarray(start, end));
  }
  return bytes.toString("latin1", start, end);
}
