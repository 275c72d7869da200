import { baseCheckpoint, leftovers } from "./common.js";
import { defineLayout } from "./define.js";
import type { FileLoader } from "./file-loader.js";
import type { ExpectedFile, NormalisedCheckpoint } from "./types.js";

const TORCH_EXT = /\.(pt|pth|bin|ckpt|pkl|pickle|tar)$/i;
const MAX_FILES = 2000;
const MAX_DEPTH = 4;

/** Any folder or file: every torch, pickle and safetensors file is decoded and validated. No progress checks. */
export const genericLayout = defineLayout({
  name: "generic",
  takes: ["folder", "file"],
  detect: (t) => (t.kind === "file" ? "a single file" : "no known layout's files present"),
  load: (loader, target) => loadGeneric(loader, target.kind === "file" ? target.file : undefined),
});

async function loadGeneric(loader: FileLoader, single?: string): Promise<NormalisedCheckpoint> {
  const c = baseCheckpoint("generic", single ? loader.abs(single) : loader.root, single ? "a single file" : "no known layout's files present");
  if (single) {
    c.pathStatus = { ok: true, kind: "a file" };
  }
  const rels = single ? [single] : await listFiles(loader);
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

async function listFiles(loader: FileLoader): Promise<string[]> {
  const out: string[] = [];
  const queue: [string, number][] = [["", 0]];
  while (queue.length > 0 && out.length < MAX_FILES) {
    const [dir, depth] = queue.shift()!;
    for (const e of await loader.list(dir)) {
      const rel = dir === "" ? e.name : `${dir}/${e.name}`;
      if (e.kind === "directory" && depth < MAX_DEPTH) queue.push([rel, depth + 1]);
      else if (e.kind === "file") out.push(rel);
    }
  }
  return out;
}
