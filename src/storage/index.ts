import { basename, dirname } from "node:path";
import { LocalStorage } from "./local.js";
import { isRemotePath, locateRemote } from "./remote/index.js";
import type { EntryStat, Storage } from "./types.js";

export type { ByteSource, DirEntry, EntryKind, EntryStat, Storage } from "./types.js";
export { sliceSource } from "./slice.js";
export { displayPath, isRemoteError, isRemotePath } from "./remote/index.js";

/**
 * A path as the user gave it, resolved to a storage and an entry in it: a
 * folder is the root of its own storage (`rel` is ""), a file is `rel` in its
 * parent folder's storage. `stat` is the entry's (undefined when it does not
 * exist); a path that cannot be looked at rejects with a FormatError. A
 * remote path gives a remote storage (storage/remote/).
 */
export interface Location {
  storage: Storage;
  rel: string;
  stat: EntryStat | undefined;
}

export async function locate(path: string): Promise<Location> {
  // s3://, https:// and loopback http:// paths; the SDK is loaded only here, on the first one.
  if (isRemotePath(path)) return locateRemote(path);
  const whole = new LocalStorage(path);
  const info = await whole.stat("");
  if (info?.kind === "directory" || info === undefined) return { storage: whole, rel: "", stat: info };
  return { storage: new LocalStorage(dirname(path)), rel: basename(path), stat: info };
}
