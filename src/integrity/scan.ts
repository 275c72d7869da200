import { crc32 } from "node:zlib";
import { isFormatError } from "../core/errors.js";
import { PyCall, PyDict, PyList, PyTuple, Tensor, type PyValue } from "../formats/pickle/values.js";
import type { SafetensorsFile } from "../formats/safetensors/index.js";
import type { TorchFile } from "../formats/torch/reader.js";
import type { ByteSource } from "../storage/types.js";
import { entryDataOffset, readEntry } from "../formats/zip/index.js";
import { SCANNED_DTYPES, countNonFinite } from "./nonfinite.js";
import { allZero } from "./zeros.js";
import { runJobs } from "./pool.js";
import { streamJobs } from "./remote.js";
import type { RegionJob, RegionResult } from "./region.js";

export interface IntegrityResult {
  rel: string;
  bytesRead: number;
  recordsChecked: number;
  /** Records whose CRC32 field is 0 (torch's set_crc32_options(False)): not checkable. */
  crcNotRecorded: number;
  crcMismatches: { record: string; expected: number; actual: number }[];
  nonFinite: { tensor: string; dtype: string; count: number }[];
  /** Float tensors (by key path) whose every element is zero: the optimizer-health check pairs exp_avg_sq with exp_avg. */
  allZero: string[];
  readErrors: { where: string; reason: string }[];
}

export type Progress = (bytes: number) => void;
/** --shard: whether the record at [offset, offset + length) of this file is this process's to read. */
export type Select = (offset: number, length: number) => boolean;
const everything: Select = () => true;

function emptyResult(rel: string): IntegrityResult {
  return { rel, bytesRead: 0, recordsChecked: 0, crcNotRecorded: 0, crcMismatches: [], nonFinite: [], allZero: [], readErrors: [] };
}

interface Labeled {
  job: RegionJob;
  /** Zip record name, or storage/tensor label for messages. */
  where: string;
  tensor?: string;
  expectedCrc?: number;
}

/** Every zip record's CRC32 against the central directory, and a NaN/Inf scan of every float storage. */
export async function scanTorchFile(rel: string, tf: TorchFile, progress?: Progress, select: Select = everything): Promise<IntegrityResult> {
  const result = emptyResult(rel);
  const names = storageNames(tf.value);
  const floatStorage = new Map<string, string>();
  for (const [key, s] of tf.storages) if (SCANNED_DTYPES.has(s.dtype)) floatStorage.set(key, s.dtype);
  const bigEndian = tf.byteOrder === "big";
  const path = tf.file.localPath ?? tf.path;
  // A torch file stored inside a larger one (a DCP slice) starts at this offset of `path`.
  const base = tf.file.localOffset ?? 0;
  const labeled: Labeled[] = [];
  if (tf.zip) {
    const storagePrefix = `${tf.archivePrefix ? `${tf.archivePrefix}/` : ""}data/`;
    for (const entry of tf.zip.entries) {
      if (!select(entry.localHeaderOffset, entry.compressedSize)) continue;
      const key = entry.name.startsWith(storagePrefix) ? entry.name.slice(storagePrefix.length) : undefined;
      const dtype = key !== undefined ? floatStorage.get(key) : undefined;
      const tensor = key !== undefined ? (names.get(key) ?? `storage ${key}`) : undefined;
      try {
        if (entry.crc32 === 0 && entry.uncompressedSize > 0) result.crcNotRecorded++;
        if (entry.method !== 0) {
          // Deflated records (other writers) are inflated whole, bounded by the zip reader's caps.
          const data = await readEntry(tf.zip, entry);
          const bad = dtype ? countNonFinite(data, dtype, bigEndian) : 0;
          recordOutcome(result, { where: entry.name, tensor, expectedCrc: entry.crc32, job: { path, offset: 0, length: 0, crc: true, bigEndian } }, { crc: crc32(data) >>> 0, nonFinite: bad, bytes: entry.compressedSize, zero: dtype !== undefined && allZero(data, dtype, bigEndian) }, dtype);
          progress?.(entry.compressedSize);
          continue;
        }
        const offset = base + (await entryDataOffset(tf.zip, entry));
        labeled.push({ where: entry.name, tensor, expectedCrc: entry.crc32, job: { path, offset, length: entry.compressedSize, crc: true, ...(dtype ? { dtype } : {}), bigEndian } });
      } catch (e) {
        result.readErrors.push({ where: entry.name, reason: isFormatError(e) ? e.message : String(e) });
      }
    }
  } else {
    for (const [key, loc] of tf.locations) {
      if (!select(loc.offset, loc.length)) continue;
      const dtype = floatStorage.get(key);
      labeled.push({ where: `storage ${key}`, tensor: names.get(key) ?? `storage ${key}`, job: { path, offset: base + loc.offset, length: loc.length, crc: false, ...(dtype ? { dtype } : {}), bigEndian } });
    }
  }
  const outcomes = await runOn(tf.file, labeled.map((l) => l.job), progress);
  labeled.forEach((l, i) => recordOutcome(result, l, outcomes[i]!, l.job.dtype));
  return result;
}

/** Local files go to the thread pool; remote objects (no local path) are streamed. */
function runOn(source: ByteSource, jobs: RegionJob[], progress?: Progress): Promise<RegionResult[]> {
  return source.localPath === undefined && source.stream ? streamJobs(source, jobs, progress) : runJobs(jobs, progress);
}

/** Every tensor's byte range, read once, with a NaN/Inf scan of float tensors. */
export async function scanSafetensors(rel: string, source: ByteSource, st: SafetensorsFile, progress?: Progress, select: Select = everything): Promise<IntegrityResult> {
  const result = emptyResult(rel);
  const path = source.localPath ?? source.name;
  const base = source.localOffset ?? 0;
  const mine = st.tensors.filter((t) => select(st.dataStart + t.dataOffsets[0], t.dataOffsets[1] - t.dataOffsets[0]));
  const labeled: Labeled[] = mine.map((t) => ({
    where: t.name,
    tensor: t.name,
    job: { path, offset: base + st.dataStart + t.dataOffsets[0], length: t.dataOffsets[1] - t.dataOffsets[0], crc: false, ...(SCANNED_DTYPES.has(t.torchDtype) ? { dtype: t.torchDtype } : {}), bigEndian: false },
  }));
  const outcomes = await runOn(source, labeled.map((l) => l.job), progress);
  labeled.forEach((l, i) => recordOutcome(result, l, outcomes[i]!, l.job.dtype));
  return result;
}

function recordOutcome(result: IntegrityResult, l: Labeled, r: RegionResult, dtype: string | undefined): void {
  result.bytesRead += r.bytes;
  if (r.error) {
    result.readErrors.push({ where: l.where, reason: r.error });
    return;
  }
  result.recordsChecked++;
  if (l.expectedCrc !== undefined && l.expectedCrc !== 0 && r.crc !== l.expectedCrc >>> 0) {
    result.crcMismatches.push({ record: l.where, expected: l.expectedCrc >>> 0, actual: r.crc });
  }
  if (r.nonFinite > 0 && dtype) result.nonFinite.push({ tensor: l.tensor ?? l.where, dtype, count: r.nonFinite });
  if (r.zero && dtype) result.allZero.push(l.tensor ?? l.where);
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
