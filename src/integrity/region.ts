import { closeSync, constants, openSync, readSync } from "node:fs";
import { crc32 } from "node:zlib";
import { countNonFinite } from "./nonfinite.js";
import { allZero } from "./zeros.js";

const CHUNK = 8 * 1024 * 1024;

/** One byte range to read once: CRC32 it (zip records) and/or count NaN/Inf in it (float tensors). */
export interface RegionJob {
  path: string;
  offset: number;
  length: number;
  crc: boolean;
  /** Float dtype to scan, if any. */
  dtype?: string;
  bigEndian: boolean;
}

export interface RegionResult {
  crc: number;
  nonFinite: number;
  bytes: number;
  /** Float regions: every element is +0 or -0. */
  zero?: boolean;
  error?: string;
}

let buffer: Buffer | undefined;

/**
 * Reads a region in 8 MiB chunks into one reused buffer (its own memory, so
 * typed-array views are aligned) with plain synchronous reads: it runs in a
 * worker thread, or in the main thread for small jobs, and has nothing else
 * to wait for.
 */
export function runRegion(job: RegionJob, progress?: (bytes: number) => void): RegionResult {
  buffer ??= Buffer.allocUnsafeSlow(CHUNK);
  let fd: number;
  try {
    fd = openSync(job.path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    return { crc: 0, nonFinite: 0, bytes: 0, error: (e as Error).message };
  }
  let crc = 0;
  let nonFinite = 0;
  let zero = job.dtype !== undefined;
  let done = 0;
  try {
    while (done < job.length) {
      const want = Math.min(CHUNK, job.length - done);
      let got = 0;
      while (got < want) {
        const n = readSync(fd, buffer, got, want - got, job.offset + done + got);
        if (n === 0) return { crc, nonFinite, bytes: done + got, error: `the file ended at byte ${job.offset + done + got}, inside the region ${job.offset}..${job.offset + job.length} (it changed size?)` };
        got += n;
      }
      const chunk = buffer.subarray(0, want);
      if (job.crc) crc = crc32(chunk, crc);
      if (job.dtype) nonFinite += countNonFinite(chunk, job.dtype, job.bigEndian);
      if (zero) zero = allZero(chunk, job.dtype!, job.bigEndian);
      done += want;
      progress?.(want);
    }
    return { crc: crc >>> 0, nonFinite, bytes: done, zero };
  } catch (e) {
    return { crc, nonFinite, bytes: done, error: (e as Error).message };
  } finally {
    closeSync(fd);
  }
}
