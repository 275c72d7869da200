import { readdirSync, statSync, type Dirent } from "node:fs";
import { join } from "node:path";
import { ioError, RandomAccessFile } from "./local-file.js";
import type { ByteSource, DirEntry, EntryKind, EntryStat, Storage } from "./types.js";

/**
 * A local folder. Files are opened read-only; nothing here ever writes. Synchronous calls behind
 * async signatures, as RandomAccessFile's reads: a run makes dozens of stats, and a trip through
 * libuv's thread pool for each cost more than the call (and loading node:fs/promises ~1 ms of start-up).
 */
export class LocalStorage implements Storage {
  readonly remote = false;
  constructor(readonly root: string) {}

  private abs(rel: string): string {
    return rel === "" ? this.root : join(this.root, rel);
  }

  display(rel: string): string {
    return this.abs(rel);
  }

  async stat(rel: string): Promise<EntryStat | undefined> {
    try {
      const info = statSync(this.abs(rel));
      return { kind: kindOf(info), size: info.size, mtimeMs: info.mtimeMs };
    } catch (e) {
      const err = ioError(e, this.abs(rel));
      if (err.code === "FILE_NOT_FOUND") return undefined;
      throw err;
    }
  }

  async list(rel: string): Promise<DirEntry[]> {
    const dir = this.abs(rel);
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      entries = [];
    }
    const out: DirEntry[] = [];
    for (const e of entries) {
      // A symbolic link is what it points to (a dangling one is "other").
      out.push({ name: e.name, kind: e.isSymbolicLink() ? linkKind(join(dir, e.name)) : kindOf(e) });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  open(rel: string): Promise<ByteSource> {
    return RandomAccessFile.open(this.abs(rel));
  }
}

function linkKind(path: string): EntryKind {
  try {
    return kindOf(statSync(path));
  } catch {
    return "other";
  }
}

function kindOf(info: { isFile(): boolean; isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): EntryKind {
  if (info.isFile()) return "file";
  if (info.isDirectory()) return "directory";
  if (info.isFIFO()) return "fifo";
  if (info.isCharacterDevice() || info.isBlockDevice()) return "device";
  if (info.isSocket()) return "socket";
  return "other";
}
