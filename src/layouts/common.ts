import type { FileLoader } from "./file-loader.js";
import type { ExpectedFile, NormalisedCheckpoint } from "./types.js";

export function baseCheckpoint(layout: string, root: string, reason: string): NormalisedCheckpoint {
  const unavailable = { state: "unavailable" as const, reason: "not read yet" };
  return {
    layout,
    reason,
    root,
    pathStatus: { ok: true, kind: "a directory" },
    expectedFiles: [],
    stateFiles: [],
    schemaProblems: [],
    schemaKeys: [],
    progress: unavailable,
    optimizer: unavailable,
    scheduler: unavailable,
    scaler: unavailable,
    weights: undefined,
    config: undefined,
    leftovers: [],
    sharded: [],
  };
}

export function examineAll(loader: FileLoader, specs: ExpectedFile[]): Promise<ExpectedFile[]> {
  return Promise.all(specs.map((s) => loader.examine(s)));
}

/** Names that interrupted saves leave behind (torch, transformers, accelerate and rsync temp files). */
const LEFTOVER = /(\.tmp|\.temp|\.partial|\.part|\.incomplete|~)$|^\.~|^tmp[\w-]*$|^\..*\.[A-Za-z0-9]{6}$/;

export async function leftovers(loader: FileLoader, rel = ""): Promise<string[]> {
  return (await loader.list(rel)).map((e) => e.name).filter((n) => LEFTOVER.test(n));
}
