import type { VerifyOptions } from "../core/options.js";
import { baseCheckpoint, leftovers } from "./common.js";
import { defineLayout, type Target } from "./define.js";
import { isRankFileName } from "./deepspeed/names.js";
import { readPointer } from "./deepspeed/pointer.js";
import { readDeepSpeed } from "./deepspeed/read.js";
import type { FileLoader } from "./file-loader.js";
import type { NormalisedCheckpoint } from "./types.js";

/** Accelerate's save_state folder holds a DeepSpeed tag (`pytorch_model`) beside its own files: the accelerate layout hosts it. */
const ACCELERATE = /^(random_states_\d+\.pkl|custom_checkpoint_\d+\.pkl|scheduler(_\d+)?\.bin|sampler(_\d+)?\.bin)$/;

/**
 * A DeepSpeed save (engine.save_checkpoint; research/distributed-layouts.md §1):
 * a save_dir with `latest` naming a tag folder of rank files, a universal
 * checkpoint named by `latest_universal`, or a tag folder given directly.
 * Under Trainer, Lightning or Accelerate the same save is read by the host
 * layout through NESTED_FORMATS.
 */
export const deepspeedLayout = defineLayout({
  name: "deepspeed",
  takes: ["folder"],
  detect: (t, loader) => (t.kind === "folder" ? detectDeepSpeed(t, loader) : undefined),
  load: (loader, target, options) => loadDeepSpeed(loader, target, options),
});

async function detectDeepSpeed(t: Target & { kind: "folder" }, loader: FileLoader): Promise<string | undefined> {
  const file = (n: string) => t.entries.some((e) => e.kind === "file" && e.name === n);
  if (t.entries.some((e) => e.kind === "file" && ACCELERATE.test(e.name))) return undefined;
  if (t.entries.some((e) => e.kind === "file" && isRankFileName(e.name))) return "a DeepSpeed tag folder (rank files present)";
  const tags = t.entries.filter((e) => e.kind === "directory" && /^global_step\d+$/.test(e.name));
  if (file("latest")) {
    const p = await readPointer(loader, "", "latest", t.entries);
    if (p.state === "ok" && p.exists && (await hasRankFiles(loader, p.tag))) return `a DeepSpeed save folder (latest names ${p.tag})`;
    if (tags.length > 0) return "a DeepSpeed save folder (latest and global_stepN folders)";
  }
  if (file("latest_universal")) return "a DeepSpeed save folder (latest_universal)";
  if (file("zero_to_fp32.py")) return "a DeepSpeed save folder (zero_to_fp32.py)";
  for (const tag of tags) if (await hasRankFiles(loader, tag.name)) return `DeepSpeed tag folders (${tag.name}) without latest`;
  return undefined;
}

async function hasRankFiles(loader: FileLoader, rel: string): Promise<boolean> {
  return (await loader.list(rel)).some((e) => e.kind === "file" && isRankFileName(e.name));
}

async function loadDeepSpeed(loader: FileLoader, target: Target, options: VerifyOptions): Promise<NormalisedCheckpoint> {
  const c = baseCheckpoint("deepspeed", loader.root, "a DeepSpeed save folder");
  const read = await readDeepSpeed(loader, "", options);
  c.sharded = [read.save];
  c.expectedFiles = read.expectedFiles;
  c.stateFiles = read.stateFiles;
  c.leftovers = target.kind === "folder" ? await leftovers(loader) : [];
  const none = { state: "unavailable" as const, reason: "no DeepSpeed model states file could be read" };
  c.optimizer = read.optimizer ?? none;
  c.scheduler = read.scheduler ?? read.clientScheduler ?? (read.noScheduler ? { state: "unavailable", reason: "the run used no LR scheduler (lr_scheduler is None)" } : none);
  c.scaler = read.scaler ?? { state: "unavailable", reason: "no fp16 loss scaling: bf16 and fp32 runs keep no loss scale" };
  c.progress = read.progress ?? none;
  const weights = read.weights ?? [];
  if (weights.length > 0) c.weights = { candidates: [], files: weights, unusable: [], missingShards: [] };
  return c;
}
