import { closeSync, constants, openSync, readSync } from "node:fs";
import { crc32 } from "node:zlib";
import { allFinite32At, countNonFinite } from "./nonfinite.js";
import { allZero, allZero32At } from "./zeros.js";

const CHUNK = 8 * 1024 * 1024;

/**
 * Records of one file, in file order, read once in large sequential reads:
 * consecutive records are read together (with the few bytes between them, a
 * zip's local headers) up to 8 MiB at a time and each is CRC'd and scanned in
 * place; a record larger than that is streamed through the buffer alone. A
 * mixture-of-experts checkpoint has hundreds of thousands of records of a
 * kilobyte: one read each was most of the time of --deep.
 */
export interface SpanJob {
  path: string;
  /** Absolute [start, end) of each record, sorted by start. */
  starts: Float64Array;
  ends: Float64Array;
  /** Per record: a float dtype to count NaN/Inf in (SCANNED_DTYPES), or "" for none. */
  dtypes: string[];
  /** CRC32 every record (zip records; safetensors tensors have none). */
  crc: boolean;
  bigEndian: boolean;
}

/**
 * What reading the records found, one column per measure (a per-record measure is one more column
 * filled in `measure`). Records from `failedFrom` on were not read; `error` says why.
 */
export interface SpanResult {
  crc: Uint32Array;
  nonFinite: Float64Array;
  /** 1 when a scanned float record's every element is +0 or -0 (an all-zero Adam exp_avg_sq). */
  zero: Uint8Array;
  bytes: number;
  failedFrom?: number;
  error?: string;
}

let buffer: Buffer | undefined;
let bufferWords: Words | undefined;

/**
 * Float32 and Uint32 views of a whole read buffer, made once per buffer: float32 records (nearly
 * every optimizer and weight record) are measured through them, without two views per record.
 */
export interface Words {
  buf: Uint8Array;
  f32: Float32Array;
  u32: Uint32Array;
}

export function wordsOf(buf: Uint8Array): Words | undefined {
  if (buf.byteOffset % 4 !== 0) return undefined;
  const n = buf.length >>> 2;
  return { buf, f32: new Float32Array(buf.buffer, buf.byteOffset, n), u32: new Uint32Array(buf.buffer, buf.byteOffset, n) };
}

/** Plain synchronous reads into one reused buffer: this runs in a worker thread, or in the main thread for small totals. */
export function runSpan(job: SpanJob, progress?: (bytes: number) => void): SpanResult {
  const n = job.starts.length;
  const result = emptySpanResult(n);
  if (n === 0) return result;
  buffer ??= Buffer.allocUnsafeSlow(CHUNK);
  bufferWords ??= wordsOf(buffer);
  const buf = buffer;
  let fd: number;
  try {
    fd = openSync(job.path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    return { ...result, failedFrom: 0, error: (e as Error).message };
  }
  let r = 0;
  try {
    while (r < n) {
      if (job.ends[r]! - job.starts[r]! > CHUNK) {
        streamRecord(fd, buf, job, r, result, progress);
        r++;
        continue;
      }
      // Consecutive records whose bytes fit the buffer together: one read for all of them.
      const from = job.starts[r]!;
      let to = job.ends[r]!;
      let j = r + 1;
      while (j < n && Math.max(to, job.ends[j]!) - from <= CHUNK) to = Math.max(to, job.ends[j++]!);
      fill(fd, buf, from, to - from);
      // `bytes` counts the records' bytes (what was checked), not the headers between them: the same
      // figure whichever way the records were read (this pool, inline, a stream, --shard parts).
      for (let k = r; k < j; k++) {
        measure(result, k, buf.subarray(job.starts[k]! - from, job.ends[k]! - from), job, true, bufferWords, job.starts[k]! - from);
        result.bytes += job.ends[k]! - job.starts[k]!;
      }
      progress?.(to - from);
      r = j;
    }
    return result;
  } catch (e) {
    return { ...result, failedFrom: r, error: (e as Error).message };
  } finally {
    closeSync(fd);
  }
}

/** A record larger than the buffer, chunk by chunk (chunk starts stay element-aligned: 8 MiB is a multiple of every element size). */
function streamRecord(fd: number, buf: Buffer, job: SpanJob, r: number, result: SpanResult, progress?: (bytes: number) => void): void {
  const start = job.starts[r]!;
  const length = job.ends[r]! - start;
  for (let done = 0; done < length; ) {
    const want = Math.min(CHUNK, length - done);
    fill(fd, buf, start + done, want);
    measure(result, r, buf.subarray(0, want), job, done === 0);
    done += want;
    result.bytes += want;
    progress?.(want);
  }
}

/** Adds one piece of record k to its measures (`first`: the record's first piece). Every measure of a record is taken here. */
export function measure(result: SpanResult, k: number, bytes: Buffer, job: Pick<SpanJob, "crc" | "dtypes" | "bigEndian">, first: boolean, words?: Words, at = 0): void {
  if (job.crc) result.crc[k] = crc32(bytes, first ? 0 : result.crc[k]!) >>> 0;
  const dtype = job.dtypes[k];
  // `bytes` lies at `at` of `words`' buffer: 4-byte floats are looked at through its views.
  if (words && first && at % 4 === 0 && !job.bigEndian && (dtype === "float32" || dtype === "complex64")) {
    const from = at >>> 2;
    const to = from + (bytes.length >>> 2);
    result.nonFinite[k] = allFinite32At(words.f32, from, to) ? 0 : countNonFinite(bytes, dtype, false);
    result.zero[k] = allZero32At(words.u32, from, to) ? 1 : 0;
    return;
  }
  if (dtype) {
    result.nonFinite[k] = result.nonFinite[k]! + countNonFinite(bytes, dtype, job.bigEndian);
    // Stops at the first non-zero element, so it costs one element on real data.
    if (first || result.zero[k]) result.zero[k] = allZero(bytes, dtype, job.bigEndian) ? 1 : 0;
  }
}

export function emptySpanResult(n: number): SpanResult {
  return { crc: new Uint32Array(n), nonFinite: new Float64Array(n), zero: new Uint8Array(n), bytes: 0 };
}

function fill(fd: number, buf: Buffer, at: number, want: number): void {
  let got = 0;
  while (got < want) {
    const n = readSync(fd, buf, got, want - got, at + got);
    if (n === 0) throw new Error(`the file ended at byte ${at + got}, inside the region ${at}..${at + want} (it changed size?)`);
    got += n;
  }
}
