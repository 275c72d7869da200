import { basename, join } from "node:path";
import { locate } from "../storage/index.js";
import type { RecordedPath } from "./types.js";

/**
 * A path the training state recorded, looked up as the framework will: as
 * written, so a relative one from the working directory (Python's open() and
 * os.path do that; the resume is normally launched from where the training
 * was). When it is missing, a file or folder of the same name beside the
 * checkpoint says the run folder moved: still a problem, since the framework
 * uses the recorded path, but the message can say where it went.
 */
export async function lookUpPath(where: string, path: string, beside: string, consequence: string, unused = false): Promise<RecordedPath> {
  const out: RecordedPath = { where, path, exists: await exists(path), consequence, ...(unused ? { unused } : {}) };
  if (!out.exists) {
    const next = join(beside, basename(path.replace(/\/+$/, "")));
    if (next !== path && (await exists(next))) out.nextToCheckpoint = next;
  }
  return out;
}

/** Longer than any real path (PATH_MAX is 4096): not looked up, and not judged. */
const MAX_PATH = 4096;

async function exists(path: string): Promise<boolean> {
  if (path === "") return false;
  if (path.length > MAX_PATH || path.includes("\0")) return true;
  try {
    return (await locate(path)).stat !== undefined;
  } catch {
    // A path that cannot be looked at (permissions, I/O) is not proof that it is gone.
    return true;
  }
}
