import { readdir, stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import type { VerifyOptions } from "../checks/define.js";
import { ioError } from "../io/file.js";
import { baseCheckpoint } from "./common.js";
import { FileLoader } from "./file-loader.js";
import { loadGeneric } from "./generic.js";
import { FOLDER, loadHfTrainer } from "./hf-trainer.js";
import { loadLightning } from "./lightning.js";
import { loadTrainingState } from "./training-state.js";
import { LAYOUT_NAMES, type LayoutName, type NormalisedCheckpoint } from "./types.js";

const HF_MARKERS = ["trainer_state.json", "optimizer.pt", "optimizer.bin", "scheduler.pt", "training_args.bin"];

export function isLayoutName(s: string): s is LayoutName {
  return (LAYOUT_NAMES as readonly string[]).includes(s);
}

/** Detects the layout from the files present (unless forced) and normalises the checkpoint. */
export async function loadCheckpoint(path: string, options: VerifyOptions): Promise<{ checkpoint: NormalisedCheckpoint; close: () => Promise<void> }> {
  let info;
  try {
    info = await stat(path);
  } catch (e) {
    const err = ioError(e, path);
    const c = baseCheckpoint((options.layout as LayoutName) ?? "generic", path, "the path could not be read");
    const code = err.code === "FILE_NOT_FOUND" ? "PATH_NOT_FOUND" : "PATH_UNREADABLE";
    c.pathStatus = { ok: false, problem: { code, data: { path, reason: err.message } } };
    c.progress = c.optimizer = c.scheduler = c.scaler = { state: "unavailable", reason: "the checkpoint path is not usable" };
    return { checkpoint: c, close: async () => undefined };
  }
  const forced = options.layout && isLayoutName(options.layout) ? options.layout : undefined;
  if (!info.isDirectory() && !info.isFile()) {
    // A FIFO, device or socket is never opened: reading one could block forever or never end.
    const kind = info.isFIFO() ? "a FIFO (named pipe)" : info.isCharacterDevice() || info.isBlockDevice() ? "a device" : info.isSocket() ? "a socket" : "not a regular file";
    const c = baseCheckpoint((forced as LayoutName) ?? "generic", path, "the path is not a file or folder");
    c.pathStatus = { ok: false, problem: { code: "PATH_UNREADABLE", data: { path, reason: `it is ${kind}, not a checkpoint file or folder; it was not opened` } } };
    c.progress = c.optimizer = c.scheduler = c.scaler = { state: "unavailable", reason: "the checkpoint path is not usable" };
    return { checkpoint: c, close: async () => undefined };
  }
  if (info.isDirectory()) {
    const loader = new FileLoader(path, options.allowGlobals, options.deep);
    const names = await readdir(path).catch(() => [] as string[]);
    const layout = forced ?? detectFolder(basename(path), names);
    const checkpoint =
      layout === "training-state"
        ? await loadTrainingState(loader, options)
        : layout === "hf-trainer"
          ? await loadHfTrainer(loader, options)
          : layout === "lightning"
            ? notAFolder(path, "lightning")
            : await loadGeneric(loader);
    if (forced) checkpoint.reason = "chosen with --layout";
    if (options.deep) checkpoint.integrity = await loader.deepScan(options.onProgress);
    return { checkpoint, close: () => loader.close() };
  }
  const loader = new FileLoader(dirname(path), options.allowGlobals, options.deep);
  const layout = forced ?? (path.toLowerCase().endsWith(".ckpt") ? "lightning" : "generic");
  const checkpoint =
    layout === "lightning" ? await loadLightning(loader, basename(path)) : layout === "generic" ? await loadGeneric(loader, basename(path)) : notAFolder(path, layout);
  if (forced) checkpoint.reason = "chosen with --layout";
  if (options.deep) checkpoint.integrity = await loader.deepScan(options.onProgress);
  return { checkpoint, close: () => loader.close() };
}

function detectFolder(name: string, found: string[]): LayoutName {
  // A save interrupted before its final rename leaves `training_state.pth.tmp` and the like: still that layout, with a file missing.
  const files = found.map((f) => f.replace(/(\.tmp|\.temp|\.partial|\.part|\.incomplete|~)$/, ""));
  if (files.includes("training_state.pth")) return "training-state";
  if (FOLDER.test(name) || HF_MARKERS.some((m) => files.includes(m))) return "hf-trainer";
  return "generic";
}

function notAFolder(path: string, layout: LayoutName): NormalisedCheckpoint {
  const c = baseCheckpoint(layout, path, "chosen with --layout");
  const kind = layout === "lightning" ? "a directory" : "a file";
  c.pathStatus = { ok: false, problem: { code: "PATH_NOT_DIRECTORY", data: { path, kind, layout } } };
  c.progress = c.optimizer = c.scheduler = c.scaler = { state: "unavailable", reason: "the checkpoint path is not usable" };
  return c;
}
