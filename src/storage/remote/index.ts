import { FormatError } from "../../core/errors.js";
import type { EntryStat, Storage } from "../types.js";
import { HttpStorage } from "./http.js";
import { s3Client } from "./s3-client.js";
import { S3Storage } from "./s3-storage.js";
import { parseRemotePath } from "./url.js";

export { displayPath, isRemotePath } from "./url.js";
export { isRemoteError } from "./errors.js";

/**
 * A remote path resolved as locate() resolves a local one. `s3://bucket/key`
 * is a file when the object exists, otherwise a folder when objects lie under
 * `key/`; a path ending in "/" (or the bucket alone) is always a folder.
 */
export async function locateRemote(path: string): Promise<{ storage: Storage; rel: string; stat: EntryStat | undefined }> {
  const target = parseRemotePath(path);
  if ("problem" in target) throw new FormatError("REMOTE_BAD_PATH", `${path.replace(/\?.*$/, "?…")}: ${target.problem}`);
  if (target.kind === "http") {
    const storage = await HttpStorage.locate(target.url);
    return { storage, rel: storage.rel, stat: await storage.stat(storage.rel) };
  }
  const client = await s3Client();
  const { bucket, key } = target;
  let headError: unknown;
  if (key !== "" && !key.endsWith("/")) {
    const slash = key.lastIndexOf("/");
    const parent = new S3Storage(client, bucket, key.slice(0, slash + 1));
    const rel = key.slice(slash + 1);
    let file;
    try {
      file = await parent.head(rel);
    } catch (e) {
      // A HEAD error has no body, so no error code: the listing below says why (or that a folder is readable).
      headError = e;
    }
    if (file) {
      file.warm();
      return { storage: parent, rel, stat: { kind: "file", size: file.info.size, mtimeMs: file.info.mtimeMs } };
    }
  }
  const folder = new S3Storage(client, bucket, key === "" || key.endsWith("/") ? key : `${key}/`);
  // Listing the folder is both the existence check and the first thing every layout does.
  const entries = await folder.list("");
  const failed = folder.failures.first();
  if (failed) throw failed;
  if (entries.length === 0 && headError) throw headError;
  return { storage: folder, rel: "", stat: entries.length > 0 ? { kind: "directory", size: 0, mtimeMs: 0 } : undefined };
}
