import { FormatError } from "../../core/errors.js";
import type { ByteSource } from "../../storage/types.js";
import type { TorchProblem } from "../torch/rebuild.js";

/**
 * A ustar reader written by hand: 512-byte headers with validated checksums
 * and octal (or GNU base-256) sizes, pax/GNU long names, a bounded member
 * count. It lists members and where their data lies; it never reads member
 * data except pax and long-name headers.
 */
export const BLOCK = 512;
/** torch writes four members; anything far beyond that is not a torch file. */
export const MAX_TAR_MEMBERS = 1024;
/** pax and GNU long-name headers are a few hundred bytes; refuse anything huge. */
const MAX_META_MEMBER = 64 * 1024;

export interface TarMember {
  name: string;
  type: string;
  /** Absolute file offset of the header and of the first data byte. */
  headerOffset: number;
  offset: number;
  /** Size the header declares. */
  size: number;
  /** Bytes of it present in the file (less than `size` only for the last member of a cut file). */
  available: number;
}

export interface TarListing {
  members: Map<string, TarMember>;
  problems: TorchProblem[];
}

/** A ustar header (magic at 257), or any 512-byte block whose header checksum is right (old v7 tars). */
export function isTarHeader(head: Uint8Array): boolean {
  if (head.length >= 262 && latin1(head, 257, 262) === "ustar") return true;
  return head.length >= BLOCK && checksumOk(head.subarray(0, BLOCK));
}

function latin1(b: Uint8Array, start: number, end: number): string {
  return Buffer.from(b.buffer, b.byteOffset + start, Math.max(0, Math.min(end, b.length) - start)).toString("latin1");
}

/** NUL-terminated field. */
function cstr(b: Uint8Array, start: number, len: number, utf8 = false): string {
  let end = start;
  while (end < start + len && b[end] !== 0) end++;
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString(utf8 ? "utf8" : "latin1");
}

function checksumOk(h: Uint8Array): boolean {
  const want = octal(h, 148, 8);
  if (want === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return want === unsigned || want === signed;
}

/** Python tarfile's nti(): up to the first NUL, stripped, empty = 0, octal digits only. */
function octal(h: Uint8Array, start: number, len: number): number | undefined {
  const s = cstr(h, start, len).trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) return undefined;
  const n = parseInt(s, 8);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A size field: octal, or GNU base-256 (first byte 0x80; 0xff is negative). */
function sizeField(h: Uint8Array): number | undefined {
  const first = h[124]!;
  if (first === 0x80 || first === 0xff) {
    if (first === 0xff) return undefined;
    let n = 0n;
    for (let i = 125; i < 136; i++) n = (n << 8n) | BigInt(h[i]!);
    return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : undefined;
  }
  return octal(h, 124, 12);
}

/** posixpath.normpath, which tarfile.getmember applies to both names. */
function normpath(p: string): string {
  if (p === "") return ".";
  const abs = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." && out.length > 0 && out[out.length - 1] !== "..") out.pop();
    else if (part !== ".." || !abs) out.push(part);
  }
  const s = (abs ? "/" : "") + out.join("/");
  return s || ".";
}

function parsePax(data: Uint8Array, at: number): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    let sp = pos;
    while (sp < data.length && sp - pos < 20 && data[sp]! >= 0x30 && data[sp]! <= 0x39) sp++;
    const len = parseInt(latin1(data, pos, sp), 10);
    if (sp === pos || data[sp] !== 0x20 || !(len > sp - pos + 1) || pos + len > data.length || data[pos + len - 1] !== 0x0a) {
      if (data.subarray(pos).every((c) => c === 0)) break;
      throw new FormatError("TORCH_TAR_BAD_HEADER", `malformed pax extended header record at byte ${pos} of the pax header`, at);
    }
    const kv = Buffer.from(data.buffer, data.byteOffset + sp + 1, pos + len - 1 - (sp + 1)).toString("utf8");
    const eq = kv.indexOf("=");
    if (eq < 0) throw new FormatError("TORCH_TAR_BAD_HEADER", `pax extended header record without "=" at byte ${pos} of the pax header`, at);
    out.set(kv.slice(0, eq), kv.slice(eq + 1));
    pos += len;
  }
  return out;
}

/**
 * Walks the headers as tarfile does: one zero block ends the archive; a header
 * cut by the end of the file ends it too (a problem, unless it is the first).
 * Member data is skipped, except for pax and GNU long-name headers.
 */
export async function listTar(file: ByteSource): Promise<TarListing> {
  const members = new Map<string, TarMember>();
  const problems: TorchProblem[] = [];
  const globalPax = new Map<string, string>();
  let localPax = new Map<string, string>();
  let longName: string | undefined;
  let pos = 0;
  for (let headers = 0; ; headers++) {
    if (pos >= file.size) break; // no end-of-archive blocks: tarfile accepts that
    if (headers >= MAX_TAR_MEMBERS) {
      throw new FormatError("TORCH_TAR_LIMIT", `the tar archive has more than ${MAX_TAR_MEMBERS} headers; torch writes four members`, pos);
    }
    if (pos + BLOCK > file.size) {
      if (pos === 0) throw new FormatError("TORCH_TAR_TRUNCATED", `the tar header at byte 0 is cut: the file has only ${file.size} bytes`, 0);
      // A cut end-of-archive block is harmless; a cut header loses its member.
      const rest = await file.read(pos, file.size - pos, "tar header");
      if (!rest.every((c) => c === 0)) problems.push({ code: "TORCH_TRUNCATED", message: `the file ends at byte ${file.size}, inside the tar header at byte ${pos}`, offset: pos });
      break;
    }
    const h = await file.read(pos, BLOCK, "tar header");
    if (h.every((c) => c === 0)) break;
    if (!checksumOk(h)) throw new FormatError("TORCH_TAR_BAD_HEADER", `the tar header at byte ${pos} has a wrong checksum`, pos);
    let size = sizeField(h);
    if (size === undefined) throw new FormatError("TORCH_TAR_BAD_HEADER", `the tar header at byte ${pos} has an invalid size field ${JSON.stringify(cstr(h, 124, 12))}`, pos);
    const type = String.fromCharCode(h[156]!);
    const dataStart = pos + BLOCK;
    if (type === "x" || type === "g" || type === "L" || type === "K") {
      if (size > MAX_META_MEMBER) throw new FormatError("TORCH_TAR_BAD_HEADER", `the ${type} header at byte ${pos} claims ${size} bytes of metadata, over the ${MAX_META_MEMBER}-byte limit`, pos);
      if (dataStart + size > file.size) throw new FormatError("TORCH_TAR_TRUNCATED", `the ${type} header at byte ${pos} needs bytes up to ${dataStart + size} but the file has only ${file.size}`, pos);
      const data = await file.read(dataStart, size, "tar metadata");
      if (type === "x") localPax = parsePax(data, pos);
      else if (type === "g") for (const [k, v] of parsePax(data, pos)) globalPax.set(k, v);
      else if (type === "L") longName = cstr(data, 0, data.length, true);
      pos = dataStart + blocks(size);
      continue;
    }
    const pax = new Map([...globalPax, ...localPax]);
    const ustar = latin1(h, 257, 263) === "ustar\0";
    const prefix = ustar ? cstr(h, 345, 155, true) : "";
    let name = longName ?? (prefix ? `${prefix}/${cstr(h, 0, 100, true)}` : cstr(h, 0, 100, true));
    const paxPath = pax.get("path");
    if (paxPath !== undefined) name = paxPath;
    const paxSize = pax.get("size");
    if (paxSize !== undefined) {
      const n = /^\d{1,16}$/.test(paxSize) ? Number(paxSize) : NaN;
      if (!Number.isSafeInteger(n)) throw new FormatError("TORCH_TAR_BAD_HEADER", `the pax size ${JSON.stringify(paxSize.slice(0, 40))} of the member at byte ${pos} is not a valid size`, pos);
      size = n;
    }
    localPax = new Map();
    longName = undefined;
    const noData = type === "1" || type === "2" || type === "3" || type === "4" || type === "5" || type === "6";
    const dataSize = noData ? 0 : size;
    const available = Math.max(0, Math.min(dataSize, file.size - dataStart));
    const key = normpath(name);
    if (members.has(key)) {
      problems.push({ code: "TORCH_TAR_DUPLICATE", message: `the tar has two members named ${JSON.stringify(key)}; torch reads the last one (header at byte ${pos})`, offset: pos });
    }
    members.set(key, { name, type, headerOffset: pos, offset: dataStart, size: dataSize, available });
    if (available < dataSize) break; // the file ends inside this member's data: nothing can follow
    pos = dataStart + blocks(dataSize);
  }
  return { members, problems };
}

function blocks(n: number): number {
  return Math.ceil(n / BLOCK) * BLOCK;
}

