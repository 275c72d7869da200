import { readdir, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { baseCheckpoint, leftovers } from "./common.js";
import type { FileLoader } from "./file-loader.js";
import type { ExpectedFile, NormalisedCheckpoint } from "./types.js";

const TORCH_EXT = /\.(pt|pth|bin|ckpt|pkl|pickle|tar)$/i;
const MAX_FILES = 2000;
const MAX_DEPTH = 4;

/** Any folder or file: every torch, pickle and safetensors file is decoded and validated. No progress checks. */
export async function loadGeneric(loader: FileLoader, single?: string): Promise<NormalisedCheckpoint> {
  const c = baseCheckpoint("generic", single ? loader.abs(single) : loader.root, single ? "a single file" : "no known layout's files present");
  if (single) {
    c.pathStatus = { ok: true, kind: "a file" };
  }
  const rels = single ? [single] : await listFiles(loader.root);
  const specs: ExpectedFile[] = rels
    // A file named on the command line is checked whatever its name: `verify-checkpoint evil.7z` must not pass unread.
    .filter((r) => single !== undefined || TORCH_EXT.test(r) || r.endsWith(".safetensors"))
    .map((rel) => ({ rel, role: "checkpoint file", required: true, expect: rel.endsWith(".safetensors") ? "safetensors" : "torch" }));
  c.expectedFiles = await Promise.all(specs.map((s) => loader.examine(s)));
  c.leftovers = single ? [] : await leftovers(loader);
  c.weights = { candidates: [], files: [], unusable: [], missingShards: [] };
  for (const spec of c.expectedFiles) {
    if (spec.expect === "safetensors") {
      if (spec.problem) c.weights.unusable.push(spec.rel);
      else c.weights.files.push(await loader.weights(spec.rel, spec.size ?? 0));
    } else c.stateFiles.push((await loader.decode(spec.rel, spec.problem && `${spec.rel} is unusable (see required-files)`)).state);
  }
  c.genericCount = c.expectedFiles.length;
  const why = { state: "unavailable" as const, reason: "the layout was not recognised" };
  c.progress = c.optimizer = c.scheduler = c.scaler = why;
  return c;
}

async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const queue: [string, number][] = [[root, 0]];
  while (queue.length > 0 && out.length < MAX_FILES) {
    const [dir, depth] = queue.shift()!;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, e.name);
      if (e.isDirectory() && depth < MAX_DEPTH) queue.push([path, depth + 1]);
      else if (e.isFile() || (e.isSymbolicLink() && (await stat(path).then((s) => s.isFile(), () => false)))) out.push(relative(root, path));
    }
  }
  return out;
}
