import { loadInflate } from "../formats/zip/fflate.js";
import { isFormatError } from "../core/errors.js";
import { decodePickleStreams } from "../formats/pickle/decoder.js";
import type { PyValue } from "../formats/pickle/values.js";
import { readZip, type ZipArchive, type ZipEntry } from "../formats/zip/central-directory.js";
import { entryDataOffset, readEntry } from "../formats/zip/entry.js";
import type { ByteSource } from "../storage/types.js";
import type { GlobalVerdict, PickleReferences } from "./globals.js";
import { TIER_RANK } from "./globals.js";

/**
 * A zip that is not a torch archive can still carry a pickle under any name
 * (picklescan's malicious1_wrong_ext.zip hides one in data.txt): some loaders
 * open members by content, not by name. Every member whose first bytes decode
 * as pickle opcodes is decoded (inertly) and judged; the verdicts are merged.
 * Bounded: at most MAX_MEMBERS members, each at most MAX_MEMBER_BYTES, and
 * MAX_TOTAL_BYTES decoded in all. Members that cannot be looked at (encrypted,
 * unsupported, corrupt, too large) are reported, since they could hide one.
 */

export const MAX_MEMBERS = 1000;
export const MAX_MEMBER_BYTES = 64 * 1024 * 1024;
const MAX_TOTAL_BYTES = 1024 * 1024 * 1024;
/** Bytes of each member looked at first, to decide whether it is a pickle at all. */
const PEEK = 4096;

export interface ZipMemberScan {
  /** Names of the members that decoded as pickles. */
  pickles: string[];
  /** One verdict per global (and call finding) across all pickle members; reasons name the member. */
  verdicts: GlobalVerdict[];
  /** The first pickle member's value. */
  value?: PyValue;
  /** Why some member could not be checked (the first such member), or why the zip could not be read. */
  error?: { code: string; message: string };
}

type Judge = (p: PickleReferences) => GlobalVerdict[];

/** Every pickle-looking member of the zip in `file` (left open: the caller owns it). */
export async function scanZipMembers(file: ByteSource, judge: Judge): Promise<ZipMemberScan> {
  try {
    return await scanArchive(await readZip(file), judge);
  } catch (e) {
    return { pickles: [], verdicts: [], error: { code: isFormatError(e) ? e.code : "UNREADABLE", message: e instanceof Error ? e.message : String(e) } };
  }
}

export async function scanArchive(zip: ZipArchive, judge: Judge): Promise<ZipMemberScan> {
  const out: ZipMemberScan = { pickles: [], verdicts: [] };
  const all: GlobalVerdict[] = [];
  const unreadable = (code: string, message: string) => void (out.error ??= { code, message });
  let total = 0;
  for (const e of zip.entries.slice(0, MAX_MEMBERS)) {
    if (e.name.endsWith("/") || e.uncompressedSize === 0) continue;
    try {
      if (!couldBePickle(await peek(zip, e))) continue;
      if (e.uncompressedSize > MAX_MEMBER_BYTES || total + e.uncompressedSize > MAX_TOTAL_BYTES) {
        unreadable("ZIP_ENTRY_TOO_LARGE", `zip member ${JSON.stringify(e.name)} looks like a pickle but is ${e.uncompressedSize} bytes, over the scanning limit: it was not checked`);
        continue;
      }
      total += e.uncompressedSize;
      const streams = decodePickleStreams(await readEntry(zip, e, MAX_MEMBER_BYTES));
      const partial = streams.error?.partial;
      const recorded = partial !== undefined && partial.globals.length + partial.calls.length + partial.builds.length > 0;
      if (streams.streams.length === 0 && !recorded) continue; // opcodes at first, then not a pickle
      out.pickles.push(e.name);
      if (out.value === undefined && streams.streams[0]) out.value = streams.streams[0].value;
      const verdicts = [...streams.streams.flatMap((s) => judge(s)), ...(partial ? judge(partial) : [])];
      for (const v of verdicts) all.push({ ...v, reason: `${v.reason} (zip member ${JSON.stringify(e.name)})` });
    } catch (err) {
      if (!isFormatError(err)) throw err;
      unreadable(err.code, `zip member ${JSON.stringify(e.name)} cannot be checked: ${err.message}`);
    }
  }
  if (zip.entries.length > MAX_MEMBERS) {
    unreadable("ZIP_TOO_MANY_MEMBERS", `the zip has ${zip.entries.length} members; only the first ${MAX_MEMBERS} were checked for pickles`);
  }
  out.verdicts = merge(all);
  return out;
}

/**
 * The first bytes could start a pickle: PROTO, or an opcode that pushes onto an empty stack
 * (Python's unpickler needs no PROTO header, so protocol 0/1 and headerless 2+ pickles count).
 */
const FIRST_OPCODES = new Set([..."(c]})NILFSVKJMUTGXPBC"].map((c) => c.charCodeAt(0)).concat([0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x95, 0x96]));

function couldBePickle(head: Uint8Array): boolean {
  if (head.length === 0) return false;
  if (head[0] === 0x80) return head.length < 2 || head[1]! <= 5;
  if (!FIRST_OPCODES.has(head[0]!)) return false;
  // Decoding the head decides cheaply: a stream that fails on its own bytes (not for want of more) and recorded nothing is not a pickle.
  const s = decodePickleStreams(head, { limits: { maxOpcodes: 100_000 } });
  if (s.streams.length > 0 || !s.error) return true;
  const p = s.error.partial;
  return /TRUNCATED|NO_STOP|BAD_FRAME|LIMIT/.test(s.error.code) || p.globals.length + p.calls.length + p.builds.length > 0;
}

/** Up to PEEK bytes from the start of a member: stored ones are read in place, deflated ones partly inflated. */
async function peek(zip: ZipArchive, e: ZipEntry): Promise<Uint8Array> {
  const start = await entryDataOffset(zip, e); // throws for encrypted and unsupported members
  const want = Math.min(PEEK, e.uncompressedSize);
  if (e.method === 0) return zip.file.read(start, Math.min(want, e.compressedSize), `zip member ${e.name}`);
  if (e.method !== 8) return readEntry(zip, e, MAX_MEMBER_BYTES); // reports the unsupported method
  const chunks: Uint8Array[] = [];
  let have = 0;
  const Inflate = await loadInflate();
  const inflater = new Inflate((chunk) => {
    chunks.push(chunk);
    have += chunk.length;
  });
  const step = 16 * 1024;
  try {
    for (let pos = 0; pos < e.compressedSize && have < want; pos += step) {
      const n = Math.min(step, e.compressedSize - pos);
      inflater.push(await zip.file.read(start + pos, n, `zip member ${e.name}`), pos + n >= e.compressedSize);
    }
  } catch (err) {
    if (isFormatError(err)) throw err;
    return readEntry(zip, e, MAX_MEMBER_BYTES); // corrupt deflate data: let the reader say how
  }
  const head = new Uint8Array(Math.min(have, want));
  let at = 0;
  for (const c of chunks) {
    if (at >= head.length) break;
    head.set(c.subarray(0, head.length - at), at);
    at += Math.min(c.length, head.length - at);
  }
  return head;
}

/** One verdict per qualname and tier: counts add up, the first offset and reason are kept. */
function merge(list: GlobalVerdict[]): GlobalVerdict[] {
  const byKey = new Map<string, GlobalVerdict>();
  for (const v of list) {
    const key = `${v.qualname}\u0000${v.tier}`;
    const seen = byKey.get(key);
    if (seen) seen.count += v.count;
    else byKey.set(key, { ...v });
  }
  return [...byKey.values()].sort((a, b) => TIER_RANK[b.tier] - TIER_RANK[a.tier] || a.offset - b.offset);
}
