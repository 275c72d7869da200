import { crc32 } from "node:zlib";
import { isFormatError } from "../formats/errors.js";
import { PyCall, PyDict, PyList, PyTuple, Tensor, type PyValue } from "../formats/pickle/values.js";
import type { SafetensorsFile } from "../formats/safetensors/index.js";
import type { TorchFile } from "../formats/torch/reader.js";
import { entryDataOffset, readEntry } from "../formats/zip/index.js";
import type { RandomAccessFile } from "../io/file.js";
import { SCANNED_DTYPES, countNonFinite } from "./nonfinite.js";

const CHUNK = 8 * 1024 * 1024;

export interface IntegrityResult {
  rel: string;
  bytesRead: number;
  recordsChecked: number;
  /** Records whose CRC32 field is 0 (torch's set_crc32_options(False)): not checkable. */
  crcNotRecorded: number;
  crcMismatches: { record: string; expected: number; actual: number }[];
  nonFinite: { tensor: string; dtype: string; count: number }[];
  readErrors: { where: string; reason: string }[];
}

export type Progress = (bytes: number) => void;

function emptyResult(rel: string): IntegrityResult {
  return { rel, bytesRead: 0, recordsChecked: 0, crcNotRecorded: 0, crcMismatches: [], nonFinite: [], readErrors: [] };
}

/**
 * Reads a region once in large chunks, reading the next chunk while the
 * current one is checked, and hands each chunk to `visit`.
 */
async function streamRegion(file: RandomAccessFile, offset: number, length: number, visit: (chunk: Buffer) => void, progress?: Progress): Promise<void> {
  const end = offset + length;
  let next: Promise<Buffer> | undefined = length > 0 ? file.read(offset, Math.min(CHUNK, length), "record") : undefined;
  let at = offset;
  while (next) {
    const chunk = await next;
    at += chunk.length;
    next = at < end ? file.read(at, Math.min(CHUNK, end - at), "record") : undefined;
    visit(chunk);
    progress?.(chunk.length);
  }
}

/** Every zip record's CRC32 against the central directory, and a NaN/Inf scan of every float storage. */
export async function scanTorchFile(rel: string, tf: TorchFile, progress?: Progress): Promise<IntegrityResult> {
  const result = emptyResult(rel);
  const names = storageNames(tf.value);
  const floatStorage = new Map<string, string>();
  for (const [key, s] of tf.storages) if (SCANNED_DTYPES.has(s.dtype)) floatStorage.set(key, s.dtype);
  const bigEndian = tf.byteOrder === "big";
  const before = tf.file.bytesRead;
  if (tf.zip) {
    const storagePrefix = `${tf.archivePrefix ? `${tf.archivePrefix}/` : ""}data/`;
    for (const entry of tf.zip.entries) {
      const key = entry.name.startsWith(storagePrefix) ? entry.name.slice(storagePrefix.length) : undefined;
      const dtype = key !== undefined ? floatStorage.get(key) : undefined;
      try {
        let crc = 0;
        let bad = 0;
        if (entry.method === 0) {
          const start = await entryDataOffset(tf.zip, entry);
          await streamRegion(tf.file, start, entry.compressedSize, (chunk) => {
            crc = crc32(chunk, crc);
            if (dtype) bad += countNonFinite(chunk, dtype, bigEndian);
          }, progress);
        } else {
          const data = await readEntry(tf.zip, entry);
          crc = crc32(data);
          if (dtype) bad += countNonFinite(data, dtype, bigEndian);
          progress?.(entry.compressedSize);
        }
        result.recordsChecked++;
        if (entry.crc32 === 0 && entry.uncompressedSize > 0) result.crcNotRecorded++;
        else if (crc >>> 0 !== entry.crc32 >>> 0) result.crcMismatches.push({ record: entry.name, expected: entry.crc32 >>> 0, actual: crc >>> 0 });
        if (bad > 0) result.nonFinite.push({ tensor: names.get(key!) ?? `storage ${key}`, dtype: dtype!, count: bad });
      } catch (e) {
        result.readErrors.push({ where: entry.name, reason: isFormatError(e) ? e.message : String(e) });
      }
    }
  } else {
    for (const [key, loc] of tf.locations) {
      const dtype = floatStorage.get(key);
      let bad = 0;
      try {
        await streamRegion(tf.file, loc.offset, loc.length, (chunk) => {
          if (dtype) bad += countNonFinite(chunk, dtype, bigEndian);
        }, progress);
        result.recordsChecked++;
        if (bad > 0) result.nonFinite.push({ tensor: names.get(key) ?? `storage ${key}`, dtype: dtype!, count: bad });
      } catch (e) {
        result.readErrors.push({ where: `storage ${key}`, reason: isFormatError(e) ? e.message : String(e) });
      }
    }
  }
  result.bytesRead = tf.file.bytesRead - before;
  return result;
}

/** Every tensor's byte range, read once, with a NaN/Inf scan of float tensors. */
export async function scanSafetensors(rel: string, st: SafetensorsFile, file: RandomAccessFile, progress?: Progress): Promise<IntegrityResult> {
  const result = emptyResult(rel);
  const before = file.bytesRead;
  for (const t of [...st.tensors].sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0])) {
    const [begin, end] = t.dataOffsets;
    let bad = 0;
    try {
      await streamRegion(file, st.dataStart + begin, end - begin, (chunk) => {
        if (SCANNED_DTYPES.has(t.torchDtype)) bad += countNonFinite(chunk, t.torchDtype);
      }, progress);
      result.recordsChecked++;
      if (bad > 0) result.nonFinite.push({ tensor: t.name, dtype: t.torchDtype, count: bad });
    } catch (e) {
      result.readErrors.push({ where: t.name, reason: isFormatError(e) ? e.message : String(e) });
    }
  }
  result.bytesRead = file.bytesRead - before;
  return result;
}

/** storage key -> the key path of the first tensor that views it ("optimizer_state_dict.state.0.exp_avg"). */
function storageNames(root: PyValue): Map<string, string> {
  const out = new Map<string, string>();
  const seen = new Set<object>();
  const stack: [string, PyValue][] = [["", root]];
  while (stack.length > 0) {
    const [name, v] = stack.pop()!;
    if (v instanceof Tensor) {
      if (!out.has(v.storage.key)) out.set(v.storage.key, name || "(root)");
      continue;
    }
    if (v === null || typeof v !== "object" || seen.has(v)) continue;
    seen.add(v);
    const join = (k: string) => (name ? `${name}.${k}` : k);
    if (v instanceof PyDict) for (const [k, c] of v.entries()) stack.push([join(String(k)), c]);
    else if (v instanceof PyList || v instanceof PyTuple) v.items.forEach((c, i) => stack.push([join(String(i)), c]));
    else if (v instanceof PyCall) v.args.forEach((c, i) => stack.push([join(`arg${i}`), c]));
  }
  return out;
}
