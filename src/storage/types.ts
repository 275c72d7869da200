/**
 * Where bytes come from. Every reader above this layer asks a ByteSource for
 * byte ranges and a Storage for names and sizes; neither knows whether the
 * checkpoint is on a local disk or in object storage.
 */

/** A byte range of a source. */
export interface ByteRange {
  offset: number;
  length: number;
}

/** Random access to one file's (or object's) bytes. */
export interface ByteSource {
  /** The path or URL, for messages (never credentials or signed URLs). */
  readonly name: string;
  readonly size: number;
  /** Bytes actually read: lets tests prove that default mode skips tensor bytes. */
  bytesRead: number;
  /** Exactly `length` bytes at `offset`, or a FormatError (TRUNCATED, BAD_RANGE, ...) naming `what`. */
  read(offset: number, length: number, what?: string): Promise<Buffer>;
  /**
   * Optional: many small ranges at once, one buffer per range in the order given, each exactly as
   * `read` would return it (the same errors, for the first range that has one). A source may merge
   * ranges that lie close together into fewer reads: the local file merges ranges that touch or
   * overlap; a remote source can merge across larger gaps into one range request. Callers go
   * through `readRanges` (storage/ranges.ts), which falls back to one `read` per range.
   */
  readMany?(ranges: readonly ByteRange[], what?: string): Promise<Buffer[]>;
  /**
   * Optional, local files only: exactly `length` bytes at `offset` into `buf` at `at`, synchronously,
   * with `read`'s checks and errors. For loops of tens of thousands of tiny reads (an optimizer's
   * `step` of every parameter) that reuse one buffer instead of allocating one per read.
   */
  readInto?(buf: Uint8Array, at: number, offset: number, length: number, what?: string): void;
  close(): Promise<void>;
  /** A local file's path, for --deep worker threads that open it themselves. Absent for remote objects. */
  readonly localPath?: string;
  /** Remote objects only: bytes [offset, offset + length) as they arrive, fetched once and not kept (--deep). */
  stream?(offset: number, length: number): AsyncIterable<Buffer>;
  /** Where this source's byte 0 lies in `localPath` (a slice of a larger file); 0 when absent. */
  readonly localOffset?: number;
}

export type EntryKind = "file" | "directory" | "fifo" | "device" | "socket" | "other";

export interface EntryStat {
  /** After following symbolic links. */
  kind: EntryKind;
  size: number;
  mtimeMs: number;
}

export interface DirEntry {
  name: string;
  /** After following symbolic links; "other" for a dangling one. */
  kind: EntryKind;
}

/**
 * A folder-like namespace of files: a local directory, or the objects under
 * an S3 prefix. Paths are relative to the root, "/"-separated; "" is the root.
 */
export interface Storage {
  /** The root as the user gave it. */
  readonly root: string;
  readonly remote: boolean;
  /** undefined when `rel` does not exist; a FormatError when it cannot be looked at (permission, I/O). */
  stat(rel: string): Promise<EntryStat | undefined>;
  /** The entries of folder `rel`, sorted by name; empty when it is not a readable folder. */
  list(rel: string): Promise<DirEntry[]>;
  /** Opens a file for positioned reads; FormatError when it is missing, not a regular file or unreadable. */
  open(rel: string): Promise<ByteSource>;
  /** How `rel` is shown to the user, and how it can be given back to the tool (a path or a URL). */
  display(rel: string): string;
  /**
   * Remote storage only: every read that failed, by object. Readers may turn
   * a failed read into "no value"; the run fails for each object listed here.
   */
  readonly failures?: { list(): { object: string; reason: string }[] };
}
