import * as z from "zod";
import { FormatError } from "../../core/errors.js";
import { DTYPE_NAMES, safetensorsDtypeBits, safetensorsToTorchDtype, type SafetensorsDtype } from "./dtypes.js";
import { scanHeaderJson } from "./jsonScan.js";
import { parsePlainHeader } from "./plainHeader.js";

/**
 * safetensors validation, rule for rule and in the order of the reference
 * crate's `read_metadata` + `Metadata::validate` (formats.md section 5), so a
 * file we accept is one `safetensors.safe_open` accepts. Stricter in two
 * places, both documented where they happen: duplicate JSON keys and
 * integers beyond 2^53 are rejected.
 */

export interface SafetensorsTensorInfo {
  name: string;
  /** As written in the header: "F32", "BF16", ... */
  dtype: string;
  /** The torch name: "float32", "bfloat16", ... */
  torchDtype: string;
  shape: number[];
  /** Relative to dataStart. */
  dataOffsets: [number, number];
  /** Bits per element. */
  bits: number;
}

export interface SafetensorsFile {
  path: string;
  fileSize: number;
  headerLength: number;
  /** 8 + headerLength: where tensor data begins. */
  dataStart: number;
  metadata: Record<string, string> | null;
  /** In header order. */
  tensors: SafetensorsTensorInfo[];
}

/** The reference crate's MAX_HEADER_SIZE (unchanged from v0.4.5 to main). */
export const MAX_HEADER_SIZE = 100_000_000;
/** usize on the 64-bit targets the crate runs on. */
const USIZE_MAX = (1n << 64n) - 1n;

const count = z.number({ error: "must be a number" }).int({ error: "must be an integer" }).nonnegative({ error: "must not be negative" });

/** One tensor entry. Unknown fields are stripped, as serde ignores them. */
export const tensorEntrySchema = z.object({
  dtype: z.enum(DTYPE_NAMES, { error: (iss) => `unknown dtype ${JSON.stringify(iss.input)}` }),
  shape: z.array(count, { error: "must be an array of non-negative integers" }),
  data_offsets: z.tuple([count, count], { error: "must be [begin, end]" }),
});

const DTYPE_SET: ReadonlySet<string> = new Set(DTYPE_NAMES);
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0; // zod 4's int() is a safe integer

/**
 * The entries real files hold, accepted without zod: exactly what tensorEntrySchema accepts, and
 * nothing else (anything this refuses goes to zod, which names the problem). One zod parse per
 * tensor was ~4 ms of a 3 GB checkpoint's 300-tensor header.
 */
export function plainEntry(v: unknown): { dtype: SafetensorsDtype; shape: number[]; data_offsets: [number, number] } | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const { dtype, shape, data_offsets: offsets } = v as Record<string, unknown>;
  if (typeof dtype !== "string" || !DTYPE_SET.has(dtype) || !Array.isArray(shape) || !Array.isArray(offsets) || offsets.length !== 2) return undefined;
  for (const d of shape) if (!isCount(d)) return undefined;
  if (!isCount(offsets[0]) || !isCount(offsets[1])) return undefined;
  return { dtype: dtype as SafetensorsDtype, shape: shape as number[], data_offsets: [offsets[0], offsets[1]] };
}

const metadataValueSchema = z.string({ error: "must be a string (metadata is a string-to-string map)" });

/** Pure: validate from the first 8+N bytes and the file size. Throws FormatError. */
export function parseSafetensorsHeader(headerBytes: Uint8Array, fileSize: number, path = "<buffer>"): SafetensorsFile {
  if (fileSize < 8 || headerBytes.length < 8) {
    fail("SAFETENSORS_HEADER_TOO_SMALL", "HeaderTooSmall", `the file is ${Math.min(fileSize, headerBytes.length)} bytes; a safetensors file starts with an 8-byte header length`, { fileSize });
  }
  const n64 = new DataView(headerBytes.buffer, headerBytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_SIZE)) {
    fail("SAFETENSORS_HEADER_TOO_LARGE", "HeaderTooLarge", `the header length field says ${n64} bytes, over the ${MAX_HEADER_SIZE}-byte limit`, {
      headerLength: n64.toString(),
      limit: MAX_HEADER_SIZE,
    });
  }
  const n = Number(n64);
  if (8 + n > fileSize) {
    fail("SAFETENSORS_INVALID_HEADER_LENGTH", "InvalidHeaderLength", `the header length field says ${n} bytes, so the header would end at byte ${8 + n}, but the file has only ${fileSize} bytes (truncated download?)`, {
      headerLength: n,
      fileSize,
    });
  }
  if (headerBytes.length < 8 + n) {
    // A caller bug rather than a file problem, but still a clean FormatError.
    fail("SAFETENSORS_INVALID_HEADER_LENGTH", "InvalidHeaderLength", `only ${headerBytes.length} of the ${8 + n} header bytes were provided`, { headerLength: n, fileSize });
  }

  let text: string;
  try {
    // ignoreBOM keeps a leading U+FEFF in the text, where JSON.parse rejects it as serde_json does.
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(headerBytes.subarray(8, 8 + n));
  } catch {
    fail("SAFETENSORS_INVALID_HEADER", "InvalidHeader", `the ${n}-byte header is not valid UTF-8`, { headerLength: n });
  }

  const { metadata, tensors } = deserialize(text);
  const lastEnd = validateOffsets(tensors);
  const expected = 8 + n + lastEnd;
  if (expected !== fileSize) {
    const diff = fileSize - expected;
    fail(
      "SAFETENSORS_METADATA_INCOMPLETE_BUFFER",
      "MetadataIncompleteBuffer",
      `the header and tensors need 8 + ${n} + ${lastEnd} = ${expected} bytes but the file has ${fileSize}: it is truncated or has trailing bytes (${diff < 0 ? `${-diff} bytes missing` : `${diff} extra bytes`})`,
      { expectedSize: expected, actualSize: fileSize },
    );
  }
  return { path, fileSize, headerLength: n, dataStart: 8 + n, metadata, tensors };
}

/** Rule 5: the JSON and its shape. */
function deserialize(text: string): { metadata: Record<string, string> | null; tensors: SafetensorsTensorInfo[] } {
  const plain = parsePlainHeader(text, DTYPE_SET, (name, dtype, shape, begin, end): SafetensorsTensorInfo => ({
    name, dtype, torchDtype: safetensorsToTorchDtype(dtype), shape, dataOffsets: [begin, end], bits: safetensorsDtypeBits(dtype),
  }));
  if (plain) return { metadata: plain.metadata, tensors: plain.entries };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    deserializationError(`the header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    deserializationError(`the header must be a JSON object, not ${parsed === null ? "null" : Array.isArray(parsed) ? "an array" : typeof parsed}`);
  }
  const scan = scanHeaderJson(text);
  if (scan.tooDeep) deserializationError("the header nests arrays/objects deeper than serde_json's recursion limit (128)");
  if (scan.duplicateKey) {
    const { key, path } = scan.duplicateKey;
    const where = path.length === 0 ? "at the top level" : `inside ${path.map((p) => JSON.stringify(p)).join(" > ")}`;
    deserializationError(`duplicate key ${JSON.stringify(key)} ${where} (the format forbids duplicates; readers disagree on which one wins)`, {
      ...(path.length === 0 ? { tensor: key } : { tensor: path[0] }),
    });
  }

  // A Map, never assignment into a plain object, so a tensor named "__proto__" stays a tensor.
  const values = new Map(Object.entries(parsed));
  let metadata: Record<string, string> | null = null;
  const tensors: SafetensorsTensorInfo[] = [];
  for (const name of scan.topLevelKeys) {
    const value = values.get(name);
    if (name === "__metadata__") {
      metadata = parseMetadata(value);
      continue;
    }
    // Checked before zod: JSON.parse already turned `1.0` into 1 and rounded 2^53+1.
    const bad = scan.badNumbers.get(name);
    if (bad) {
      const why = /^(0|[1-9][0-9]*)$/.test(bad.raw) ? "is beyond 2^53-1 (not representable exactly; no real tensor is that large)" : "is not a plain non-negative integer";
      deserializationError(`tensor ${JSON.stringify(name)}: ${bad.field}[${bad.index}] = ${bad.raw} ${why}`, { tensor: name, field: `${bad.field}[${bad.index}]` });
    }
    const plain = plainEntry(value);
    const r = plain ? { success: true as const, data: plain } : tensorEntrySchema.safeParse(value);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      const field = issue.path.length === 0 ? "" : formatPath(issue.path);
      deserializationError(`tensor ${JSON.stringify(name)}: ${field ? `${field} ` : ""}${issue.path.length === 0 ? "must be an object with dtype, shape and data_offsets" : issue.message}`, {
        tensor: name,
        field: field || undefined,
      });
    }
    const { dtype, shape, data_offsets } = r.data;
    tensors.push({ name, dtype, torchDtype: safetensorsToTorchDtype(dtype), shape, dataOffsets: [data_offsets[0], data_offsets[1]], bits: safetensorsDtypeBits(dtype) });
  }
  return { metadata, tensors };
}

function parseMetadata(value: unknown): Record<string, string> | null {
  if (value === null) return null; // serde's Option accepts an explicit null
  if (typeof value !== "object" || Array.isArray(value)) {
    deserializationError(`__metadata__ must be an object of strings, not ${Array.isArray(value) ? "an array" : typeof value}`, { field: "__metadata__" });
  }
  // Not z.record: zod v4's record drops a "__proto__" key. Object.fromEntries defines
  // own data properties, so "__proto__" stays a key and never sets a prototype.
  const entries: [string, string][] = [];
  for (const [key, v] of Object.entries(value as object)) {
    const r = metadataValueSchema.safeParse(v);
    if (!r.success) deserializationError(`__metadata__[${JSON.stringify(key)}] ${r.error.issues[0]!.message}`, { field: `__metadata__.${key}` });
    entries.push([key, r.data]);
  }
  return Object.fromEntries(entries);
}

/** Rule 6, over tensors sorted by (begin, end) as the crate sorts them. Returns the last end. */
/** A tensor's name as messages show it: quoted only on the way to a failure (quoting every name was a tenth of a 70,000-tensor header's parse). */
const quoted = (t: SafetensorsTensorInfo) => JSON.stringify(t.name);

function validateOffsets(tensors: SafetensorsTensorInfo[]): number {
  // Writers store tensors in offset order: sort only when they are not.
  let inOrder = true;
  for (let k = 1; k < tensors.length && inOrder; k++) inOrder = byOffsets(tensors[k - 1]!, tensors[k]!) <= 0;
  const sorted = inOrder ? tensors : [...tensors].sort(byOffsets);
  let start = 0;
  let previous: string | undefined;
  for (const t of sorted) {
    const [s, e] = t.dataOffsets;
    if (s !== start) {
      const relation = s > start ? `leaving a gap of ${s - start} bytes` : `overlapping it by ${start - s} bytes`;
      const context = previous === undefined ? "the first tensor's data must begin at 0" : `the previous tensor ${JSON.stringify(previous)} ends at ${start}, ${relation}`;
      fail("SAFETENSORS_INVALID_OFFSET", "InvalidOffset", `tensor ${quoted(t)}: data_offsets [${s}, ${e}] begin at ${s}; ${context}`, { tensor: t.name, begin: s, end: e, expectedBegin: start });
    }
    if (e < s) {
      fail("SAFETENSORS_INVALID_OFFSET", "InvalidOffset", `tensor ${quoted(t)}: data_offsets [${s}, ${e}] end before they begin`, { tensor: t.name, begin: s, end: e });
    }
    start = e;
    previous = t.name;

    // Exact in doubles while the product stays below 2^53 (every real tensor): no BigInt needed.
    let small = t.bits;
    let positive = true;
    for (let k = 0; k < t.shape.length; k++) {
      small *= t.shape[k]!;
      positive &&= t.shape[k]! > 0;
    }
    if (small <= Number.MAX_SAFE_INTEGER && positive) {
      if (small % 8 === 0 && e - s === small / 8) continue;
    }
    // Same fold as the crate (usize::checked_mul), so a 0 after an overflowing prefix still overflows.
    let numel = 1n;
    for (const d of t.shape) {
      numel *= BigInt(d);
      if (numel > USIZE_MAX) {
        fail("SAFETENSORS_VALIDATION_OVERFLOW", "ValidationOverflow", `tensor ${quoted(t)}: the element count of shape [${t.shape.join(", ")}] overflows 64 bits`, { tensor: t.name, shape: t.shape });
      }
    }
    const nbits = numel * BigInt(t.bits);
    if (nbits > USIZE_MAX) {
      fail("SAFETENSORS_VALIDATION_OVERFLOW", "ValidationOverflow", `tensor ${quoted(t)}: ${numel} elements × ${t.bits} bits overflows 64 bits`, { tensor: t.name, shape: t.shape });
    }
    if (nbits % 8n !== 0n) {
      fail("SAFETENSORS_MISALIGNED_SLICE", "MisalignedSlice", `tensor ${quoted(t)}: ${numel} elements of ${t.dtype} (${t.bits} bits each) are ${nbits} bits, not a whole number of bytes`, {
        tensor: t.name,
        bits: Number(nbits),
      });
    }
    const size = nbits / 8n;
    if (BigInt(e - s) !== size) {
      fail("SAFETENSORS_TENSOR_INVALID_INFO", "TensorInvalidInfo", `tensor ${quoted(t)}: data_offsets [${s}, ${e}] hold ${e - s} bytes but shape [${t.shape.join(", ")}] of ${t.dtype} needs ${size} bytes`, {
        tensor: t.name,
        expectedBytes: size <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(size) : size.toString(),
        actualBytes: e - s,
      });
    }
  }
  return start;
}

function byOffsets(a: SafetensorsTensorInfo, b: SafetensorsTensorInfo): number {
  return a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1];
}

function formatPath(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
}

function deserializationError(message: string, data: Record<string, unknown> = {}): never {
  fail("SAFETENSORS_INVALID_HEADER_DESERIALIZATION", "InvalidHeaderDeserialization", message, data);
}

function fail(code: string, rule: string, message: string, data: Record<string, unknown> = {}): never {
  throw new FormatError(code, message, undefined, { rule, ...data });
}
