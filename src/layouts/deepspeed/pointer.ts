import type { DirEntry } from "../../storage/types.js";
import type { FileLoader } from "../file-loader.js";

/** DeepSpeed writes the tag alone (`fd.write(tag)`); a tag name is short. Anything longer is not read. */
export const MAX_POINTER_BYTES = 4096;

export type Pointer = { state: "missing" } | { state: "invalid"; reason: string } | { state: "ok"; tag: string; exists: boolean };

/**
 * `latest` or `latest_universal`: the name of a folder beside it. The name is
 * only ever compared with the folder's listing, never joined into a path, so
 * a hostile `../..` cannot lead reads outside the checkpoint.
 */
export async function readPointer(loader: FileLoader, dir: string, name: string, entries: DirEntry[]): Promise<Pointer> {
  const entry = entries.find((e) => e.name === name);
  if (!entry) return { state: "missing" };
  if (entry.kind !== "file") return { state: "invalid", reason: `it is ${entry.kind === "directory" ? "a directory" : "not a regular file"}` };
  const rel = dir === "" ? name : `${dir}/${name}`;
  const info = await loader.stat(rel);
  if (!info) return { state: "missing" };
  if (info.size > MAX_POINTER_BYTES) return { state: "invalid", reason: `it is ${info.size} bytes, too long to be a tag name (it was not read)` };
  const read = await loader.text(rel, MAX_POINTER_BYTES);
  if (read.text === undefined) return { state: "invalid", reason: String(read.problem?.data["reason"] ?? "it cannot be read") };
  // DeepSpeed reads it with `.strip()`.
  const tag = read.text.trim();
  if (tag === "") return { state: "invalid", reason: "it is empty" };
  if (/[\u0000-\u001f\u007f\ufffd]/.test(tag)) return { state: "invalid", reason: "it is not one line of text" };
  if (/[/\\]/.test(tag) || tag === "." || tag === "..") return { state: "invalid", reason: `'${clip(tag)}' is a path, not a folder name` };
  return { state: "ok", tag, exists: entries.some((e) => e.name === tag && e.kind === "directory") };
}

export function clip(s: string, n = 80): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
