import { PyCall, PyDict, PyList, PyTuple, StorageRef, Tensor, type PyValue } from "../formats/pickle/values.js";
import type { StorageTable } from "../formats/torch/storage-table.js";
import type { FileLoader } from "./file-loader.js";
import type { NormalisedCheckpoint, TorchLoad } from "./types.js";

/** A walk over untrusted nesting stops here; a checkpoint's storages are all found long before. */
const MAX_NODES = 2_000_000;

/** How many storages each saved location holds ("cpu", "cuda:3"), walking the decoded value without recursion. */
export function storageDevices(root: PyValue | undefined): Map<string, number> {
  const byKey = new Map<string, string>();
  const seen = new Set<object>();
  const stack: (PyValue | undefined)[] = [root];
  for (let n = 0; stack.length > 0 && n < MAX_NODES; n++) {
    const v = stack.pop();
    if (v === null || v === undefined || typeof v !== "object" || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof Tensor) byKey.set(v.storage.key, v.storage.location);
    else if (v instanceof StorageRef) byKey.set(v.key, v.location);
    else if (v instanceof PyDict) for (const [, c] of v.entries()) stack.push(c);
    else if (v instanceof PyList || v instanceof PyTuple) stack.push(...v.items);
    else if (v instanceof PyCall) stack.push(...v.args, v.state);
  }
  const out = new Map<string, number>();
  for (const location of byKey.values()) out.set(location, (out.get(location) ?? 0) + 1);
  return out;
}

/** Storages per saved location, from the reader's storage table (every storage the pickle referenced): no walk of the decoded value. */
function locationCounts(storages: StorageTable): Map<string, number> {
  const out = new Map<string, number>();
  const refs = storages.refs();
  // Runs of one location (every storage of a CPU save is "cpu") are counted before the map is touched.
  for (let i = 0; i < refs.length; ) {
    const location = refs[i]!.location;
    let j = i + 1;
    while (j < refs.length && refs[j]!.location === location) j++;
    out.set(location, (out.get(location) ?? 0) + (j - i));
    i = j;
  }
  return out;
}

/** `rel` as the resume will torch.load it, from its (cached) decode; undefined when it did not decode or is not a torch.save file. */
export async function torchLoadOf(loader: FileLoader, rel: string, by: string, mapsLocation: boolean, frameworkAllows?: TorchLoad["frameworkAllows"]): Promise<TorchLoad | undefined> {
  const d = await loader.decode(rel);
  if (d.state.problem || d.state.unusable || !d.weightsOnly) return undefined;
  return { rel, by, mapsLocation, ...(frameworkAllows ? { frameworkAllows } : {}), weightsOnly: d.weightsOnly, devices: d.storages ? locationCounts(d.storages) : storageDevices(d.value) };
}

/**
 * When the layout says nothing about its loader (training-state, generic):
 * every torch file it decoded, loaded by the training code's own torch.load
 * (whose weights_only default is True since torch 2.6, and which maps no
 * locations unless told to).
 */
export async function defaultTorchLoads(loader: FileLoader, c: NormalisedCheckpoint): Promise<TorchLoad[]> {
  const rels = new Set<string>();
  for (const s of c.stateFiles) if (!s.json && !s.unusable && !s.problem) rels.add(s.rel);
  for (const w of c.weights?.files ?? []) if (w.kind === "torch" && !w.problem) rels.add(w.rel);
  const out: TorchLoad[] = [];
  for (const rel of rels) {
    const load = await torchLoadOf(loader, rel, "the training code's torch.load", false);
    if (load) out.push(load);
  }
  return out;
}
