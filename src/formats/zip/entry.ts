import type { Inflate } from "fflate";
import * as zlib from "node:zlib";
import { FormatError } from "../../core/errors.js";
import { loadInflate } from "./fflate.js";
import type { ZipArchive, ZipEntry } from "./archive.js";
import { dataOffsetAt } from "./local-header.js";

/**
 * Entry data, read whole: stored entries as they are, deflated ones inflated
 * in bounded steps so a bomb is caught early, both CRC-checked.
 */

/** Default cap on one entry's bytes in memory. */
export const DEFAULT_MAX_ENTRY_BYTES = 1024 * 1024 * 1024;
/** DEFLATE cannot expand more than ~1032:1; a declared size beyond that is a lie or a bomb. */
const MAX_DEFLATE_RATIO = 1032;
/** Compressed input fed per step: bounds the output of one step to ~16 MiB. */
const INFLATE_STEP = 16 * 1024;

function quoted(e: ZipEntry): string {
  return JSON.stringify(e.name);
}

/** Where an entry's data starts (its local header read and checked once; see local-header.ts). */
export function entryDataOffset(zip: ZipArchive, e: ZipEntry): Promise<number> {
  return dataOffsetAt(zip, e.index);
}

/** The whole entry, inflated if needed, CRC-checked when the archive recorded a CRC (torch may write 0). */
export async function readEntry(zip: ZipArchive, e: ZipEntry, maxBytes = DEFAULT_MAX_ENTRY_BYTES): Promise<Uint8Array> {
  const start = await entryDataOffset(zip, e);
  let out: Uint8Array;
  if (e.method === 0) {
    if (e.compressedSize !== e.uncompressedSize) {
      throw new FormatError("ZIP_BAD_CENTRAL_DIRECTORY", `stored entry ${quoted(e)} has compressed size ${e.compressedSize} but uncompressed size ${e.uncompressedSize}`, e.localHeaderOffset, { entry: e.name });
    }
    if (e.uncompressedSize > maxBytes) {
      throw new FormatError("ZIP_ENTRY_TOO_LARGE", `zip entry ${quoted(e)} is ${e.uncompressedSize} bytes, over the ${maxBytes}-byte limit for reading it into memory`, start, { entry: e.name, limit: maxBytes });
    }
    out = await zip.file.read(start, e.compressedSize, `zip entry ${e.name}`);
  } else if (e.method === 8) {
    checkBomb(e, maxBytes, start);
    const input = await zip.file.read(start, e.compressedSize, `zip entry ${e.name}`);
    out = inflateCapped(e, input, start, await loadInflate());
  } else {
    throw new FormatError("ZIP_UNSUPPORTED", `zip entry ${quoted(e)} uses compression method ${e.method}; only stored (0) and deflate (8) are supported`, e.localHeaderOffset, { entry: e.name, method: e.method });
  }
  if (e.crc32 !== 0 && typeof zlib.crc32 === "function") {
    const actual = zlib.crc32(out) >>> 0;
    if (actual !== e.crc32) {
      throw new FormatError("ZIP_CRC_MISMATCH", `zip entry ${quoted(e)} is corrupt: CRC-32 ${hex(actual)} but the archive records ${hex(e.crc32)}`, start, { entry: e.name });
    }
  }
  return out;
}

function hex(n: number): string {
  return "0x" + n.toString(16).padStart(8, "0");
}

function checkBomb(e: ZipEntry, maxBytes: number, at: number): void {
  if (e.uncompressedSize > maxBytes) {
    throw new FormatError("ZIP_BOMB", `zip entry ${quoted(e)} declares ${e.uncompressedSize} uncompressed bytes, over the ${maxBytes}-byte limit`, at, { entry: e.name, limit: maxBytes });
  }
  if (e.uncompressedSize > e.compressedSize * MAX_DEFLATE_RATIO + 1024) {
    throw new FormatError("ZIP_BOMB", `zip entry ${quoted(e)} declares ${e.uncompressedSize} bytes from ${e.compressedSize} compressed bytes, a ratio DEFLATE cannot produce`, at, { entry: e.name });
  }
}

/** Inflates step by step and stops as soon as the output passes the declared size. */
function inflateCapped(e: ZipEntry, input: Uint8Array, at: number, InflateClass: typeof Inflate): Uint8Array {
  let out: Uint8Array;
  try {
    out = new Uint8Array(e.uncompressedSize);
  } catch {
    throw new FormatError("ZIP_ENTRY_TOO_LARGE", `zip entry ${quoted(e)} needs ${e.uncompressedSize} bytes of memory, which cannot be allocated`, at, { entry: e.name });
  }
  let written = 0;
  let done = false;
  const inflater = new InflateClass((chunk, final) => {
    if (written + chunk.length > out.length) {
      throw new FormatError("ZIP_BOMB", `zip entry ${quoted(e)} inflates to more than its declared ${e.uncompressedSize} bytes`, at, { entry: e.name });
    }
    out.set(chunk, written);
    written += chunk.length;
    if (final) done = true;
  });
  try {
    if (input.length === 0) inflater.push(input, true);
    for (let p = 0; p < input.length; p += INFLATE_STEP) {
      inflater.push(input.subarray(p, p + INFLATE_STEP), p + INFLATE_STEP >= input.length);
    }
  } catch (err) {
    if (err instanceof FormatError) throw err;
    throw new FormatError("ZIP_BAD_DEFLATE", `zip entry ${quoted(e)} holds invalid DEFLATE data: ${(err as Error)?.message ?? String(err)}`, at, { entry: e.name });
  }
  if (!done || written !== out.length) {
    throw new FormatError("ZIP_TRUNCATED", `zip entry ${quoted(e)} inflated to ${written} bytes but declares ${e.uncompressedSize}`, at, { entry: e.name });
  }
  return out;
}
