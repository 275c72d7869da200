import { open, stat, type FileHandle } from "node:fs/promises";
import { constants } from "node:fs";
import { FormatError } from "../formats/errors.js";

/**
 * Positioned, bounds-checked reads of one regular file. Readers never read a
 * whole file: they ask for the byte ranges they need. Opening refuses anything
 * that is not a regular file (a FIFO or a device would block or never end),
 * and the file is opened read-only, so the checkpoint is never changed.
 */
export class RandomAccessFile {
  /** Bytes actually read through this handle: lets tests prove that default mode skips tensor bytes. */
  bytesRead = 0;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<RandomAccessFile> {
    let info;
    try {
      info = await stat(path);
    } catch (e) {
      throw ioError(e, path);
    }
    if (!info.isFile()) {
      throw new FormatError("NOT_A_REGULAR_FILE", `${path} is not a regular file (${describeKind(info)})`);
    }
    let handle: FileHandle;
    try {
      handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (e) {
      throw ioError(e, path);
    }
    return new RandomAccessFile(path, handle, info.size);
  }

  /** Reads exactly `length` bytes at `offset`, or throws TRUNCATED naming what was being read. */
  async read(offset: number, length: number, what = "data"): Promise<Buffer> {
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
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      let n: number;
      try {
        ({ bytesRead: n } = await this.handle.read(buf, done, length - done, offset + done));
      } catch (e) {
        throw ioError(e, this.path);
      }
      if (n === 0) {
        throw new FormatError("TRUNCATED", `${what}: the file ended at byte ${offset + done} while reading (it changed size?)`, offset + done);
      }
      done += n;
    }
    this.bytesRead += length;
    return buf;
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
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
