import { dirname } from "node:path";
import { isDict, PyFloat, Tensor, toNumber, type PyDict, type PyValue } from "../formats/pickle/values.js";
import type { FileLoader } from "./file-loader.js";
import { lookUpPath } from "./recorded-paths.js";
import { torchLoadOf } from "./torch-loads.js";
import type { RecordedPath, ResumeView, TorchLoad } from "./types.js";

/** save_top_k is a handful in practice; a state listing more paths is not looked up past this many. */
const MAX_PATHS = 64;

/** What each ModelCheckpoint path is used for after a resume (callbacks/model_checkpoint.py load_state_dict and its callers). */
const PATH_KEYS: Record<string, string> = {
  best_model_path: 'Lightning reloads it whatever the dirpath: trainer.test(ckpt_path="best") and checkpoint_callback.best_model_path after the resumed fit point at a file that is gone (FileNotFoundError after the whole run)',
  kth_best_model_path: "ModelCheckpoint's top-k bookkeeping (reloaded when the dirpath is unchanged) counts a checkpoint that is gone",
  last_model_path: "ModelCheckpoint (with an unchanged dirpath) treats a checkpoint that is gone as the previous last.ckpt",
  dirpath: "ModelCheckpoint reloads best_k_models, kth_best_model_path and last_model_path only when the resumed run saves to this same dirpath; when it no longer exists the run folder moved, those are dropped with a warning, and best_model_path still points to the old place",
};

/**
 * What Lightning will do on resume with this checkpoint's own keys: it
 * torch.loads the file through lightning.fabric's cloud_io._load (weights_only
 * passed through, so torch's default, True since 2.6; map_location to the CPU),
 * and restores the callbacks' state, paths and scores included.
 */
export async function readLightningResume(loader: FileLoader, rel: string, root: PyDict, beside: string, scalar: (t: Tensor) => Promise<number | undefined>): Promise<ResumeView> {
  const load = await torchLoadOf(loader, rel, "Lightning's checkpoint connector (lightning.fabric cloud_io._load)", true);
  const view: ResumeView = { torchLoads: load ? [load] as TorchLoad[] : [], loggedNonFinite: [], recordedPaths: [] };
  const callbacks = root.get("callbacks");
  if (!isDict(callbacks)) return view;
  const step = toNumber(root.get("global_step"));
  for (const [name, state] of callbacks.entries()) {
    if (typeof name !== "string" || !isDict(state)) continue;
    const kind = name.split("{")[0]!;
    if (kind === "ModelCheckpoint") view.recordedPaths.push(...(await checkpointPaths(rel, kind, state, beside)));
    const monitor = typeof state.get("monitor") === "string" ? String(state.get("monitor")) : "the monitored metric";
    for (const key of kind === "ModelCheckpoint" ? ["current_score", "best_model_score"] : kind === "EarlyStopping" ? ["best_score"] : []) {
      const value = await scoreOf(state.get(key), scalar);
      if (value !== undefined && !Number.isFinite(value)) view.loggedNonFinite.push({ where: `${rel}: callbacks ${kind} ${key}`, key: monitor, value, ...(step !== undefined ? { step } : {}) });
    }
  }
  return view;
}

async function checkpointPaths(rel: string, kind: string, state: PyDict, beside: string): Promise<RecordedPath[]> {
  const out: RecordedPath[] = [];
  for (const [key, consequence] of Object.entries(PATH_KEYS)) {
    const v = state.get(key);
    // dirpath is the checkpoint's own folder when the run only moved: look for it beside that folder.
    if (typeof v === "string" && v !== "") out.push(await lookUpPath(`${rel}: ${kind} ${key}`, v, key === "dirpath" ? dirname(beside) : beside, consequence));
  }
  const topK = state.get("best_k_models");
  if (isDict(topK)) {
    for (const path of topK.keys().slice(0, MAX_PATHS)) {
      if (typeof path === "string" && path !== "" && !out.some((p) => p.path === path)) out.push(await lookUpPath(`${rel}: ${kind} best_k_models`, path, beside, PATH_KEYS["kth_best_model_path"]!));
    }
  }
  return out;
}

async function scoreOf(v: PyValue | undefined, scalar: (t: Tensor) => Promise<number | undefined>): Promise<number | undefined> {
  if (v instanceof Tensor) return v.numel === 1 ? scalar(v) : undefined;
  if (typeof v === "number" || v instanceof PyFloat) return toNumber(v);
  return undefined;
}
