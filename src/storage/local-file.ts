import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { FormatError } from "../core/errors.js";
import type { ByteSource } from "./types.js";


/**
 * Positioned, bounds-checked reads of one regular file. Readers never read a
 * whole file: they ask for the byte ranges they need. Opening refuses anything
 * that is not a regular file (a FIFO or a device would block or never end),
 * and the file is opened read-only, so the checkpoint is never changed.
 *
 * The reads are synchronous behind an async signature: metadata reads are
 * many and small, and a round trip through libuv's thread pool per read cost
 * more than the reads themselves (about 60 ms of a 200 ms run on a 3 GB
 * checkpoint). The callers stay async, so this can change without them.
 */
export class RandomAccessFile implements ByteSource {
  /** Bytes actually read through this handle: lets tests prove that default mode skips tensor bytes. */
  bytesRead = 0;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<RandomAccessFile> {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat on the open descriptor then
    // refuses it, with no window between a check and the open.
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (e) {
      throw ioError(e, path);
    }
    let info;
    try {
      info = fstatSync(fd);
    } catch (e) {
      closeSync(fd);
      throw ioError(e, path);
    }
    if (!info.isFile()) {
      closeSync(fd);
      throw new FormatError("NOT_A_REGULAR_FILE", `${path} is not a regular file (${describeKind(info)})`);
    }
    return new RandomAccessFile(path, fd, info.size);
  }

  get name(): string {
    return this.path;
  }

  get localPath(): string {
    return this.path;
  }

  /** Reads exactly `length` bytes at `offset`, or throws TRUNCATED naming what was being read. */
  async read(offset: number, length: number, what = "data"): Promise<Buffer> {
    return this.readSync(offset, length, what);
  }

  private check(offset: number, length: number, what: string): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new FormatError("BAD_RANGE", `invalid byte range for ${what}: offset ${offset}, length ${length}`);
    }
    if (offset + length > this.size) {
      throw new FormatError(
        "TRUNCATED",
        `${what} needs bytes ${offset}..${offset + length} but the file has only ${this.size} bytes`,
        offset,
      );
    }
  }

  /** `read` without the promise, for loops over hundreds of small reads (local headers, step values). */
  readSync(offset: number, length: number, what = "data"): Buffer {
    this.check(offset, length, what);
    const buf = Buffer.allocUnsafe(length);
    this.fill(buf, 0, offset, length, what);
    return buf;
  }

  readInto(buf: Uint8Array, at: number, offset: number, length: number, what = "data"): void {
    this.check(offset, length, what);
    if (!Number.isSafeInteger(at) || at < 0 || at + length > buf.length) throw new FormatError("BAD_RANGE", `${what}: ${length} bytes do not fit at ${at} of a ${buf.length}-byte buffer`);
    this.fill(buf, at, offset, length, what);
  }

  /** Exactly `length` bytes at file offset `offset` into `buf` at `at` (checked by the caller). */
  private fill(buf: Uint8Array, at: number, offset: number, length: number, what = "data"): void {
    let done = 0;
    while (done < length) {
      let n: number;
      try {
        n = readSync(this.fd, buf, at + done, length - done, offset + done);
      } catch (e) {
        throw ioError(e, this.path);
      }
      if (n === 0) {
        throw new FormatError("TRUNCATED", `${what}: the file ended at byte ${offset + done} while reading (it changed size?)`, offset + done);
      }
      done += n;
    }
    this.bytesRead += length;
  }

  private closed = false;

  async close(): Promise<void> {
    // Closing twice could close an unrelated file that reused the descriptor number.
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

/** Opens, runs `fn`, always closes. */
export async function withFile<T>(path: string, fn: (f: RandomAccessFile) => Promise<T>): Promise<T> {
  const f = await RandomAccessFile.open(path);
  try {
    return await fn(f);
  } finally {
    await f.close();
  }
}

function describeKind(info: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (info.isDirectory()) return "a directory";
  if (info.isFIFO()) return "a FIFO";
  if (info.isCharacterDevice() || info.isBlockDevice()) return "a device";
  if (info.isSocket()) return "a socket";
  return "not a file";
}

export function ioError(e: unknown, path: string): FormatError {
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case "ENOENT":
      return new FormatError("FILE_NOT_FOUND", `${path} does not exist`);
    case "EACCES":
    case "EPERM":
      return new FormatError("PERMISSION_DENIED", `${path} cannot be read: permission denied`);
    case "ELOOP":
      return new FormatError("SYMLINK_LOOP", `${path} is a symbolic link loop`);
    case "EISDIR":
      return new FormatError("NOT_A_REGULAR_FILE", `${path} is a directory`);
    default:
      return new FormatError("IO_ERROR", `${path} could not be read: ${err?.code ?? String(e)}`);
  }
}
