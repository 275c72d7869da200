import { FormatError } from "../../core/errors.js";
import { withFile } from "../../storage/local-file.js";
import type { ByteSource } from "../../storage/types.js";
import { isZipSignature, readZip } from "../zip/central-directory.js";
import { decodePickle, PickleError } from "../pickle/decoder.js";
import { LEGACY_MAGIC } from "./legacy.js";

/**
 * Guesses what a file is from its first 4 KiB, its size and (for pickles)
 * its last byte. A zip is opened far enough to see its central directory,
 * which is what tells a torch archive from any other zip.
 */

export type FileKind = "torch-zip" | "torch-legacy" | "pickle" | "safetensors" | "zip" | "git-lfs-pointer" | "html" | "zeros" | "empty" | "text" | "unknown";

const HEAD = 4096;
/** Opcodes decoded from the head to decide "pickle": enough to be sure, cheap on any input. */
const SNIFF_OPCODES = 512;
const LFS = "version https://git-lfs.github.com/spec/v1";

export async function sniffFileKind(path: string): Promise<{ kind: FileKind; detail: string }> {
  return withFile(path, sniffOpen);
}

export async function sniffOpen(f: ByteSource): Promise<{ kind: FileKind; detail: string }> {
  if (f.size === 0) return { kind: "empty", detail: "the file is empty (0 bytes)" };
  const head = await f.read(0, Math.min(HEAD, f.size), "file head");
  if (head.length >= 4 && isZipSignature(head)) return sniffZip(f);
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x05 && head[3] === 0x06) {
    return { kind: "zip", detail: "an empty zip archive (end record only)" };
  }
  if (head.every((b) => b === 0)) return { kind: "zeros", detail: `the first ${head.length} bytes are all zero (a preallocated or wiped file)` };
  const st = safetensorsHeader(head, f.size);
  if (st) return { kind: "safetensors", detail: st };
  const text = asText(head);
  if (text !== undefined) {
    if (text.startsWith(LFS)) return { kind: "git-lfs-pointer", detail: "a Git LFS pointer file: the real content was never downloaded (git lfs pull)" };
    const t = text.trimStart().toLowerCase();
    if (t.startsWith("<!doctype html") || t.startsWith("<html")) return { kind: "html", detail: "an HTML page (a download that saved an error or login page?)" };
  }
  if (head.length > 262 && head.toString("latin1", 257, 262) === "ustar") {
    return { kind: "torch-legacy", detail: "a tar archive, the format torch wrote before 0.4" };
  }
  const pk = pickleGuess(head, f.size);
  if (pk) return pk;
  if (text !== undefined) return { kind: "text", detail: "printable text, not a checkpoint" };
  return { kind: "unknown", detail: `unrecognised content starting ${[...head.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join(" ")}` };
}

async function sniffZip(f: ByteSource): Promise<{ kind: FileKind; detail: string }> {
  try {
    const zip = await readZip(f);
    const first = zip.count > 0 ? zip.nameOf(0) : "";
    const slash = first.indexOf("/");
    const pkl = slash < 0 ? "data.pkl" : `${first.slice(0, slash)}/data.pkl`;
    if (zip.has(pkl)) return { kind: "torch-zip", detail: `a zip archive with ${pkl} (${zip.count} entries)` };
    return { kind: "zip", detail: `a zip archive with ${zip.count} entries and no ${pkl}` };
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    return { kind: "zip", detail: `starts like a zip but its central directory is unreadable: ${e.message}` };
  }
}

/** u64 LE header length N, then JSON: N + 8 must fit in the file (else it is a cut safetensors file). */
function safetensorsHeader(head: Buffer, size: number): string | undefined {
  if (head.length < 10) return undefined;
  const n = head.readBigUInt64LE(0);
  const c = head[8]!;
  if (n < 2n) return undefined;
  if (c === 0x7b && (head[9] === 0x22 || head[9] === 0x7d || head[9] === 0x20 || head[9] === 0x0a) && n + 8n > BigInt(size)) {
    return `a truncated or corrupt safetensors file: its header claims ${n} bytes but the file has only ${size}`;
  }
  if (n + 8n > BigInt(size)) return undefined;
  if (c !== 0x7b && c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return undefined;
  return `a safetensors file (JSON header of ${n} bytes)`;
}

/**
 * Decodes the head as a pickle (inert: nothing is resolved) with a small opcode budget. A stream that
 * completes, uses up the budget, or runs to the end of the head is a pickle; so is one that fails only
 * after its first bytes decoded, or one with a pickle header. The legacy torch magic is the first pickle's value.
 */
function pickleGuess(head: Buffer, size: number): { kind: FileKind; detail: string } | undefined {
  const whole = head.length === size;
  try {
    const d = decodePickle(head, 0, { limits: { maxOpcodes: SNIFF_OPCODES } });
    if (d.value === LEGACY_MAGIC && d.calls.length === 0 && d.globals.length === 0) {
      return { kind: "torch-legacy", detail: "the first pickle is the legacy torch magic number 0x1950a86a20f9469cfc6c" };
    }
    const after = size - d.end;
    return { kind: "pickle", detail: `a pickle${d.protocol === undefined ? " (protocol 0/1)" : `, protocol ${d.protocol}`}${after > 0 ? `; ${after} bytes follow its STOP` : ""}` };
  } catch (e) {
    if (!(e instanceof PickleError)) throw e;
    const proto = head[0] === 0x80 && head.length > 1 && head[1]! >= 2 && head[1]! <= 5 ? `, protocol ${head[1]}` : "";
    if (e.code === "PICKLE_LIMIT" || (!whole && /TRUNCATED|NO_STOP|BAD_FRAME/.test(e.code))) {
      return { kind: "pickle", detail: `a pickle${proto} (the first ${head.length} bytes decode as pickle opcodes)` };
    }
    const globalLine = /^c[A-Za-z_][\w.]*\n/.test(head.toString("latin1", 0, Math.min(head.length, 256)));
    if ((e.offset ?? 0) >= 8 || proto || globalLine) {
      return { kind: "pickle", detail: `a broken pickle${proto}: ${e.message}` };
    }
    return undefined;
  }
}

/** The head decoded as UTF-8 text, if it is printable (a multi-byte character cut at 4 KiB is allowed). */
function asText(head: Buffer): string | undefined {
  let s: string;
  try {
    s = new TextDecoder("utf-8", { fatal: true }).decode(head.length === HEAD ? trimPartial(head) : head);
  } catch {
    return undefined;
  }
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) return undefined;
  }
  return s;
}

function trimPartial(b: Buffer): Buffer {
  let end = b.length;
  // Drop up to 3 trailing bytes of an incomplete UTF-8 sequence.
  for (let k = 1; k <= 3 && end - k >= 0; k++) {
    const c = b[end - k]!;
    if ((c & 0xc0) === 0xc0) return b.subarray(0, end - k);
    if ((c & 0x80) === 0) break;
  }
  return b;
}
