import { baseCheckpoint, leftovers } from "./common.js";
import { defineLayout } from "./define.js";
import type { FileLoader } from "./file-loader.js";
import { PyDict, PyList, PyTuple, isDict, type PyValue } from "../formats/pickle/values.js";
import { defaultTorchLoads } from "./torch-loads.js";
import { collectTensors } from "./walk.js";
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
  const optimizerFiles = c.stateFiles.filter((s) => holdsOptimizerState(s.value)).map((s) => s.rel);
  const tensorFiles = [...c.weights.files.filter((w) => w.tensors.length > 0).map((w) => w.rel), ...c.stateFiles.filter((s) => collectTensors(s.value ?? null).length > 0).map((s) => s.rel)];
  c.resume = { torchLoads: await defaultTorchLoads(loader, c), loggedNonFinite: [], recordedPaths: [], optimizerFiles, tensorFiles };
  return c;
}

/** Levels searched for an optimizer state_dict: the file itself, a dict of states, one more for nested saves. */
const OPTIMIZER_SEARCH_DEPTH = 3;

/** A torch optimizer state_dict ({'state': {...}, 'param_groups': [...]}) at the top or a few levels down. */
function holdsOptimizerState(root: PyValue | undefined): boolean {
  let level: PyValue[] = root === undefined ? [] : [root];
  for (let depth = 0; depth <= OPTIMIZER_SEARCH_DEPTH && level.length > 0; depth++) {
    const next: PyValue[] = [];
    for (const v of level) {
      if (isDict(v)) {
        if (isDict(v.get("state")) && (v.get("param_groups") instanceof PyList || v.get("param_groups") instanceof PyTuple)) return true;
        next.push(...v.entries().map(([, x]) => x).filter((x) => x instanceof PyDict || x instanceof PyList || x instanceof PyTuple));
      } else if (v instanceof PyList || v instanceof PyTuple) next.push(...v.items.filter((x) => x instanceof PyDict));
    }
    level = next.slice(0, 10_000);
  }
  return false;
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
