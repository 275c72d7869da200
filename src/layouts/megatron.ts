import type { VerifyOptions } from "../core/options.js";
import { baseCheckpoint, examineAll, leftovers } from "./common.js";
import { defineLayout, type Target } from "./define.js";
import type { FileLoader } from "./file-loader.js";
import { readDistIteration } from "./megatron/dist.js";
import { readLegacyIteration } from "./megatron/legacy.js";
import type { MegatronArgs } from "./megatron/args.js";
import type { MegatronParts } from "./megatron/state.js";
import { TRACKER, iterationFolder, readTracker } from "./megatron/tracker.js";
import type { NormalisedCheckpoint, RankFinding, ShardedSave, WeightsFile } from "./types.js";

const ITER = /^iter_(\d{7,})$/;

/**
 * A Megatron-LM `--save` folder (research/distributed-layouts.md section 4):
 * the tracker names the iteration the resume loads, whose folder holds legacy
 * mp_rank_* folders or a torch_dist (DCP) save. Given an iteration folder
 * itself, its name stands in for the tracker.
 */
export const megatronLayout = defineLayout({
  name: "megatron",
  takes: ["folder"],
  detect: (t) => {
    if (t.kind !== "folder") return undefined;
    if (t.entries.some((e) => e.name === TRACKER)) return "a Megatron-LM save folder (latest_checkpointed_iteration.txt)";
    if (t.entries.some((e) => e.kind === "directory" && ITER.test(e.name))) return "Megatron-LM iteration folders (iter_NNNNNNN) without a tracker";
    const inner = t.entries.some((e) => (e.kind === "directory" && e.name.startsWith("mp_rank_")) || e.name === "metadata.json" || e.name === "common.pt");
    return (ITER.test(t.name) || t.name === "release") && inner ? "a Megatron-LM iteration folder" : undefined;
  },
  load: (loader, target, options) => loadMegatron(loader, target as Target & { kind: "folder" }, options),
});

async function loadMegatron(loader: FileLoader, target: Target & { kind: "folder" }, options: VerifyOptions): Promise<NormalisedCheckpoint> {
  const c = baseCheckpoint("megatron", loader.root, "a Megatron-LM save");
  c.leftovers = await leftovers(loader);
  const findings: RankFinding[] = [];
  const add = (f: RankFinding) => void findings.push(f);
  const chosen = await chooseIteration(loader, target, add);
  if (chosen.tracker) c.expectedFiles.push(...(await examineAll(loader, [{ rel: TRACKER, role: "the tracker: names the iteration to resume", required: true, expect: "any" }])));
  const save: ShardedSave = { format: "megatron", rel: chosen.rel ?? "", describe: chosen.describe, findings };
  c.sharded = [save];
  const none = { state: "unavailable" as const, reason: "no iteration folder to read" };
  c.optimizer = c.scaler = c.progress = none;
  c.scheduler = { state: "unavailable", reason: "Megatron's OptimizerParamScheduler counts samples, not steps: its num_steps is checked against consumed_train_samples (ranks check)" };
  if (chosen.rel === undefined) return c;
  const rel = chosen.rel;
  const entries = await loader.list(rel);
  let parts: MegatronParts | undefined;
  let args: MegatronArgs | undefined;
  let layout: string;
  let weights: WeightsFile[] = [];
  if (entries.some((e) => e.kind === "directory" && e.name.startsWith("mp_rank_"))) {
    const r = await readLegacyIteration(loader, rel, chosen.expected, add);
    c.expectedFiles.push(...r.expectedFiles);
    c.stateFiles.push(...r.stateFiles);
    [parts, args, weights, layout] = [r.parts, r.args, r.weights, `legacy torch format, ${r.rankDirs} rank folder(s)`];
  } else if (entries.some((e) => e.name === ".metadata" || e.name === "metadata.json" || e.name === "common.pt" || e.name.endsWith(".distcp"))) {
    const r = await readDistIteration(loader, rel, chosen.expected, options, add);
    c.expectedFiles.push(...r.expectedFiles, ...r.dcp.expectedFiles);
    c.stateFiles.push(...r.stateFiles, ...r.dcp.stateFiles);
    c.sharded.push(r.dcp.save);
    [parts, args, layout] = [r.parts, r.args, "torch_dist"];
    // The DCP items hold the optimizer's moments too; the model is the rest.
    weights = (r.dcp.weights ?? []).map((w) => ({ ...w, tensors: w.tensors.filter((t) => !t.name.startsWith("optimizer.") && !t.name.includes("/")) }));
  } else {
    add({ level: "error", code: "MEGATRON_ITERATION_MISSING", data: { file: chosen.tracker ? TRACKER : "the folder name", folder: `${rel || target.name} with rank folders or distributed checkpoint files`, present: "none inside it" } });
    return c;
  }
  c.weights = { candidates: [], files: weights, unusable: [], missingShards: [] };
  if (parts) [c.optimizer, c.scaler, c.progress] = [parts.optimizer, parts.scaler, parts.progress];
  Object.assign(save, degrees(args), { globalStep: parts?.iteration, describe: `${chosen.describe}; ${layout}${args ? `, ${degreeText(args)}` : ""}` });
  return c;
}

interface Chosen {
  /** The iteration folder to read, relative to the root; undefined when there is none. */
  rel?: string;
  expected?: { iteration: number; source: string };
  tracker: boolean;
  describe: string;
}

/** The tracker's iteration (or, given an iteration folder, that folder), as Megatron's load_checkpoint picks it. */
async function chooseIteration(loader: FileLoader, target: Target & { kind: "folder" }, add: (f: RankFinding) => void): Promise<Chosen> {
  const m = ITER.exec(target.name);
  if (m || (target.name === "release" && !target.entries.some((e) => e.name === TRACKER))) {
    return { rel: "", expected: m ? { iteration: Number(m[1]), source: "the folder name" } : undefined, tracker: false, describe: `iteration folder ${target.name}` };
  }
  const iterations = target.entries.filter((e) => e.kind === "directory" && (ITER.test(e.name) || e.name === "release")).map((e) => e.name).sort();
  const hasTracker = target.entries.some((e) => e.name === TRACKER);
  if (!hasTracker) {
    const newest = iterations.filter((n) => ITER.test(n)).pop();
    add({ level: "error", code: "MEGATRON_TRACKER_MISSING", data: { where: "the save folder", folders: iterations.length > 0 ? iterations.slice(-5).join(", ") : "none" }, file: TRACKER });
    return { rel: newest, tracker: false, describe: newest ? `no tracker; newest folder ${newest}` : "no tracker and no iteration folder" };
  }
  const it = await readTracker(loader, add);
  if (it === undefined) return { tracker: true, describe: "the tracker is unreadable" };
  const folder = iterationFolder(it);
  if (!iterations.includes(folder)) {
    add({ level: "error", code: "MEGATRON_ITERATION_MISSING", data: { file: TRACKER, folder, present: iterations.length > 0 ? iterations.slice(-5).join(", ") : "none" }, file: TRACKER });
    return { tracker: true, describe: `the tracker names ${folder}, which is missing` };
  }
  const newer = typeof it === "number" ? iterations.filter((n) => ITER.test(n) && Number(ITER.exec(n)![1]) > it) : [];
  if (newer.length > 0) add({ level: "info", code: "MEGATRON_UNTRACKED_ITERATIONS", data: { folders: newer.slice(0, 5).join(", ") } });
  return { rel: folder, expected: typeof it === "number" ? { iteration: it, source: TRACKER } : undefined, tracker: true, describe: `tracker: ${folder}` };
}

function degrees(args: MegatronArgs | undefined): Partial<ShardedSave> {
  if (!args) return {};
  const world = args.worldSize ?? (args.dataParallel !== undefined ? args.dataParallel * args.tp * args.pp * args.cp : undefined);
  return { worldSize: world, dataParallel: args.dataParallel, tensorParallel: args.tp, pipelineParallel: args.pp, ...(args.ep > 1 ? { expertParallel: args.ep } : {}) };
}

function degreeText(args: MegatronArgs): string {
  const parts = [`tp ${args.tp}`, `pp ${args.pp}`, ...(args.ep > 1 ? [`ep ${args.ep}`] : []), ...(args.cp > 1 ? [`cp ${args.cp}`] : []), ...(args.dataParallel !== undefined ? [`dp ${args.dataParallel}`] : [])];
  return `${parts.join(" x ")}${args.worldSize !== undefined ? ` = ${args.worldSize} ranks` : ""}${args.distributedOptimizer ? ", distributed optimizer" : ""}`;
}
