import { withFile } from "../../storage/local-file.js";
import type { ByteSource } from "../../storage/types.js";
import { MAX_HEADER_SIZE, parseSafetensorsHeader, type SafetensorsFile } from "./header.js";

/**
 * Reads the 8-byte length, then the header only, and validates it against the
 * real file size. Tensor data is never read. A length that is too large or
 * runs past the end is judged from the 8 bytes alone, so a hostile length
 * never turns into a large read.
 */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  return withFile(path, readSafetensorsFrom);
}

export async function readSafetensorsFrom(f: ByteSource): Promise<SafetensorsFile> {
  const first = await f.read(0, Math.min(8, f.size), "safetensors header length");
  if (f.size < 8) return parseSafetensorsHeader(first, f.size, f.name);
  const n = first.readBigUInt64LE(0);
  if (n > BigInt(MAX_HEADER_SIZE) || 8n + n > BigInt(f.size)) return parseSafetensorsHeader(first, f.size, f.name);
  const header = await f.read(0, 8 + Number(n), "safetensors header");
  return parseSafetensorsHeader(header, f.size, f.name);
}
