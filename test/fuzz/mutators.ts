/**
 * The mutation dispatcher: byte-level mutations for any file, plus the
 * structural ones its format allows (see mutate-format.ts). Everything is a
 * function of the generator, so a (seed, index) pair names one mutant.
 */
import type { Rng } from "./prng.js";
import { interestingValue, mutatePickle, mutateZipField, mutateZipPickle, readField, writeField, type Mutant } from "./mutate-format.js";
import { pickleStreams, safetensorsStructure, zipStructure } from "./structure.js";

export type { Mutant } from "./mutate-format.js";

const INTERESTING_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x0a, 0x2e, 0x28, 0x7b, 0x22, 0x50];

function bitFlip(rng: Rng, b: Buffer): Mutant {
  const out = Buffer.from(b);
  const n = rng.range(1, 8);
  const head = rng.chance(0.5) ? Math.min(out.length, 4096) : out.length;
  for (let i = 0; i < n && out.length; i++) {
    const at = rng.int(head);
    out[at] = out[at]! ^ (1 << rng.int(8));
  }
  return { bytes: out, desc: `flip ${n} bit(s)` };
}

function byteSet(rng: Rng, b: Buffer): Mutant {
  const out = Buffer.from(b);
  const at = rng.int(out.length);
  const n = Math.min(rng.range(1, 4), out.length - at);
  for (let i = 0; i < n; i++) out[at + i] = rng.chance(0.7) ? rng.pick(INTERESTING_BYTES) : rng.u32() & 0xff;
  return { bytes: out, desc: `set ${n} byte(s) at ${at}` };
}

function insert(rng: Rng, b: Buffer): Mutant {
  const at = rng.int(b.length + 1);
  const n = rng.pick([1, 2, 4, 8, 64, 512]);
  const fill = rng.chance(0.5) ? rng.bytes(n) : b.subarray(rng.int(b.length), rng.int(b.length) + n);
  return { bytes: Buffer.concat([b.subarray(0, at), fill, b.subarray(at)]), desc: `insert ${fill.length} byte(s) at ${at}` };
}

function remove(rng: Rng, b: Buffer): Mutant {
  const at = rng.int(b.length);
  const n = rng.pick([1, 2, 4, 8, 64, 512]);
  return { bytes: Buffer.concat([b.subarray(0, at), b.subarray(at + n)]), desc: `delete ${n} byte(s) at ${at}` };
}

function truncateRandom(rng: Rng, b: Buffer): Mutant {
  const at = rng.int(b.length);
  return { bytes: b.subarray(0, at), desc: `truncate at ${at} (random)` };
}

function appendGarbage(rng: Rng, b: Buffer): Mutant {
  const n = rng.pick([1, 16, 4096]);
  return { bytes: Buffer.concat([b, rng.chance(0.5) ? rng.bytes(n) : Buffer.alloc(n)]), desc: `append ${n} byte(s)` };
}

/** Every offset where a record, opcode, header or data block starts or ends. */
export function boundaries(b: Buffer): number[] {
  const out = new Set<number>([0, 1, 4, 8, b.length - 1]);
  const zs = zipStructure(b);
  for (const x of zs?.boundaries ?? []) out.add(x);
  for (const x of safetensorsStructure(b)?.boundaries ?? []) out.add(x);
  if (!zs) for (const s of pickleStreams(b)) for (const op of s) out.add(op.offset);
  return [...out].filter((x) => x >= 0 && x < b.length);
}

function truncateBoundary(rng: Rng, b: Buffer): Mutant {
  if (b.length === 0) return { bytes: b, desc: "truncate an empty file" };
  const at = Math.max(0, rng.pick(boundaries(b)) + rng.pick([0, 0, 0, -1, 1, 2]));
  return { bytes: b.subarray(0, at), desc: `truncate at ${at} (boundary)` };
}

const HUGE = [2 ** 53, 2 ** 63, 1e308, -1, -(2 ** 53), 0.5, 2 ** 31, 2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER];

/** A changed JSON value: other types, huge numbers, prototype-polluting keys. */
function jsonValue(rng: Rng): unknown {
  switch (rng.int(9)) {
    case 0: return rng.pick(HUGE);
    case 1: return null;
    case 2: return rng.pick(["F32", "BF16", "F8_E4M3", "Q4", "", "__proto__", "x".repeat(1000)]);
    case 3: return [rng.pick(HUGE), rng.pick(HUGE)];
    case 4: return JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 2}}}');
    case 5: return [];
    case 6: return {};
    case 7: return rng.pick([true, false]);
    default: return Array.from({ length: rng.pick([3, 8, 64]) }, () => rng.pick([2 ** 20, 2 ** 31, 7, 0]));
  }
}

/** Mutates a parsed JSON document in place: one node changed, removed, or a key added. */
function mutateJsonDoc(rng: Rng, doc: unknown): string {
  const nodes: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (v: unknown, depth: number) => {
    if (depth > 6 || v === null || typeof v !== "object") return;
    for (const [k, child] of Object.entries(v)) {
      nodes.push({ parent: v as Record<string, unknown>, key: Array.isArray(v) ? Number(k) : k });
      walk(child, depth + 1);
    }
  };
  walk(doc, 0);
  if (nodes.length === 0) return "no nodes";
  const n = rng.pick(nodes);
  const parent = n.parent as Record<string | number, unknown>;
  const op = rng.int(4);
  if (op === 0 && !Array.isArray(n.parent)) {
    delete parent[n.key];
    return `delete ${String(n.key)}`;
  }
  if (op === 1 && !Array.isArray(n.parent)) {
    Object.defineProperty(parent, rng.pick(["__proto__", "constructor", "__metadata__", "x"]), { value: jsonValue(rng), enumerable: true, configurable: true, writable: true });
    return "add key";
  }
  parent[n.key] = jsonValue(rng);
  return `set ${String(n.key)}`;
}

function mutateSafetensors(rng: Rng, b: Buffer): Mutant | undefined {
  const st = safetensorsStructure(b);
  if (!st) return undefined;
  const out = Buffer.from(b);
  if (rng.chance(0.35)) {
    const f = { offset: 0, size: 8 as const, what: "safetensors header length" };
    const v = rng.chance(0.5) ? rng.pick([2n ** 63n, 99_999_999n, 100_000_001n, 0n, 1n, BigInt(st.headerLen - 1), BigInt(st.headerLen + 1)]) : interestingValue(rng, 8, readField(out, f), out.length);
    writeField(out, f, v);
    return { bytes: out, desc: `safetensors: header length -> ${v}` };
  }
  if (rng.chance(0.004)) {
    // 99,999,999 bytes of spaces: the largest header the reference accepts, all whitespace.
    const n = 99_999_999;
    const big = Buffer.alloc(8 + n, 0x20);
    big.writeBigUInt64LE(BigInt(n), 0);
    big[8] = 0x7b;
    return { bytes: big, desc: "safetensors: 99,999,999-byte header of spaces" };
  }
  const doc = JSON.parse(b.toString("utf8", 8, 8 + st.headerLen)) as unknown;
  const what = mutateJsonDoc(rng, doc);
  let text = Buffer.from(JSON.stringify(doc));
  const keepLen = rng.chance(0.5) && text.length <= st.headerLen;
  if (keepLen) text = Buffer.concat([text, Buffer.alloc(st.headerLen - text.length, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(text.length));
  return { bytes: Buffer.concat([len, text, b.subarray(8 + st.headerLen)]), desc: `safetensors JSON: ${what}${keepLen ? " (padded)" : ""}` };
}

function mutateJsonFile(rng: Rng, b: Buffer): Mutant | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(b.toString("utf8"));
  } catch {
    return undefined;
  }
  const what = mutateJsonDoc(rng, doc);
  return { bytes: Buffer.from(JSON.stringify(doc, null, rng.chance(0.5) ? 2 : 0)), desc: `json: ${what}` };
}

const GENERIC = [bitFlip, byteSet, insert, remove, truncateRandom, truncateBoundary, appendGarbage];

/** One mutant of `b`: a structural mutation for its format most of the time, else a byte-level one. */
export function mutate(rng: Rng, b: Buffer): Mutant {
  if (b.length === 0) return { bytes: rng.bytes(rng.pick([1, 8, 64])), desc: "fill empty file" };
  if (rng.chance(0.65)) {
    const zs = zipStructure(b);
    let m: Mutant | undefined;
    if (zs) m = rng.chance(0.35) ? mutateZipField(rng, b, zs) : mutateZipPickle(rng, b);
    else if (b[8] === 0x7b) m = mutateSafetensors(rng, b);
    else if (b[0] === 0x7b) m = mutateJsonFile(rng, b);
    else if (pickleStreams(b, 0, 1).length > 0 || b[0] === 0x80) m = mutatePickle(rng, b);
    if (m) return m;
  }
  const m = rng.pick(GENERIC)(rng, b);
  return rng.chance(0.1) && m.bytes.length > 0 ? { bytes: rng.pick(GENERIC)(rng, m.bytes).bytes, desc: `${m.desc} + another` } : m;
}
