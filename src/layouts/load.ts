import type { VerifyOptions } from "../core/options.js";
import { errorMessage } from "../core/errors.js";
import { displayPath, isRemoteError, locate, type Location } from "../storage/index.js";
import { baseCheckpoint } from "./common.js";
import type { Layout, Target } from "./define.js";
import { FileLoader } from "./file-loader.js";
import { LAYOUTS } from "./index.js";
import { defaultTorchLoads } from "./torch-loads.js";
import type { NormalisedCheckpoint, Problem } from "./types.js";

type Loaded = { checkpoint: NormalisedCheckpoint; close: () => Promise<void> };

/**
 * Detects the layout from the files present (unless forced) and normalises the
 * checkpoint. A run folder that no layout but `generic` recognises is first
 * resolved, once, to the checkpoint its framework resumes from (a layout's `resolve`).
 */
export async function loadCheckpoint(given: string, options: VerifyOptions, mayResolve = true): Promise<Loaded> {
  const forced = LAYOUTS.find((l) => l.name === options.layout);
  // What findings show: a URL loses its query string (a presigned URL's signature lives there).
  const path = displayPath(given);
  let where: Location;
  try {
    where = await locate(given);
  } catch (e) {
    // A remote failure about the path itself need not name it twice.
    const reason = isRemoteError(e) && e.data["object"] === path ? String(e.data["what"]) : errorMessage(e);
    return unusable(path, forced, "the path could not be read", { code: "PATH_UNREADABLE", data: { path, reason } });
  }
  const info = where.stat;
  if (!info) return unusable(path, forced, "the path could not be read", { code: "PATH_NOT_FOUND", data: { path, reason: `${path} does not exist` } });
  if (info.kind !== "directory" && info.kind !== "file") {
    // A FIFO, device or socket is never opened: reading one could block forever or never end.
    const kind = info.kind === "fifo" ? "a FIFO (named pipe)" : info.kind === "device" ? "a device" : info.kind === "socket" ? "a socket" : "not a regular file";
    return unusable(path, forced, "the path is not a file or folder", { code: "PATH_UNREADABLE", data: { path, reason: `it is ${kind}, not a checkpoint file or folder; it was not opened` } });
  }
  // --deep reads step values across records, except in a --shard part, which reads only its share of the bytes.
  const loader = new FileLoader(where.storage, options.allowGlobals, options.deep, options.deep && !options.shard);
  const name = baseName(path.replace(/\?…$/, ""));
  const target: Target = info.kind === "directory" ? { kind: "folder", name, entries: await loader.list("") } : { kind: "file", name, file: where.rel };
  let layout: Layout | undefined = forced;
  let reason = "chosen with --layout";
  if (!layout) {
    for (const candidate of LAYOUTS) {
      if (!candidate.takes.includes(target.kind)) continue;
      const why = await candidate.detect(target, loader);
      if (why !== undefined) {
        [layout, reason] = [candidate, why];
        break;
      }
    }
  }
  if (mayResolve && target.kind === "folder" && (layout?.name === "generic" || (forced && !(await forced.detect(target, loader))))) {
    const resolved = await resolveRunFolder(path, target, loader, forced ? [forced] : LAYOUTS, options);
    if (resolved) return resolved;
  }
  if (!layout || !layout.takes.includes(target.kind)) {
    const l = layout ?? forced!;
    await loader.close();
    return unusable(path, l, "chosen with --layout", { code: "PATH_NOT_DIRECTORY", data: { path, kind: target.kind === "folder" ? "a directory" : "a file", layout: l.name } });
  }
  const checkpoint = await layout.load(loader, target, options);
  checkpoint.reason = reason;
  checkpoint.resume ??= { torchLoads: await defaultTorchLoads(loader, checkpoint), loggedNonFinite: [], recordedPaths: [] };
  if (options.deep) checkpoint.integrity = await loader.deepScan(options.onProgress, options.shard);
  const failures = where.storage.failures?.list() ?? [];
  if (failures.length > 0) checkpoint.readFailures = failures;
  return { checkpoint, close: () => loader.close() };
}

/** The checkpoint a run folder's framework resumes from, verified in its place; undefined when no layout resolves the folder. */
async function resolveRunFolder(path: string, target: Target & { kind: "folder" }, loader: FileLoader, layouts: readonly Layout[], options: VerifyOptions): Promise<Loaded | undefined> {
  for (const layout of layouts) {
    const r = await layout.resolve?.(target, loader);
    if (!r) continue;
    const to = loader.abs(r.rel);
    await loader.close();
    const loaded = await loadCheckpoint(to, options, false);
    loaded.checkpoint.resolved = { from: path, to, layout: layout.name, framework: r.framework, rule: r.rule, others: r.others };
    return loaded;
  }
  return undefined;
}

function baseName(path: string): string {
  const parts = path.replace(/\/+$/, "").split("/");
  return parts[parts.length - 1] ?? path;
}

function unusable(path: string, layout: Layout | undefined, reason: string, problem: Problem): { checkpoint: NormalisedCheckpoint; close: () => Promise<void> } {
  const c = baseCheckpoint(layout?.name ?? "generic", path, reason);
  c.pathStatus = { ok: false, problem };
  c.progress = c.optimizer = c.scheduler = c.scaler = { state: "unavailable", reason: "the checkpoint path is not usable" };
  return { checkpoint: c, close: async () => undefined };
}
