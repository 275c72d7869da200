import type { VerifyOptions } from "../core/options.js";
import { isDict, isInt, type PyDict } from "../formats/pickle/values.js";
import { checkIndices, customName, holdsAccelerate, indexFiles, optimizerName, rngName, schedulerName } from "./accelerate/files.js";
import { baseCheckpoint, examineAll, leftovers } from "./common.js";
import { defineLayout, type Target } from "./define.js";
import type { FileLoader } from "./file-loader.js";
import { nestedPart, readNested } from "./nested.js";
import { readOptimizer, readScaler, readScheduler } from "./torch-state.js";
import type { ExpectedFile, NormalisedCheckpoint, OptimizerView, Part, Progress, RankFinding, SchedulerView, ShardedSave } from "./types.js";
import { resolveWeights } from "./weights.js";

/** Keys accelerate writes into every random_states_{i}.pkl (checkpointing.py save_accelerator_state). */
const RNG_KEYS = ["step", "random_state", "torch_manual_seed"];
/** accelerate's example scripts name folders step_{N} and epoch_{N}. */
const STEP_FOLDER = /^step_(\d+)$/;

/**
 * Hugging Face Accelerate's `save_state` folder (research/distributed-layouts.md
 * section 3): optimizer.bin, scheduler.bin, scaler.pt, one random_states_{i}.pkl
 * per process, custom_checkpoint_{i}.pkl, the model; FSDP or DeepSpeed saves
 * nested inside provide the model and optimizer.
 */
export const accelerateLayout = defineLayout({
  name: "accelerate",
  takes: ["folder"],
  detect: (t) => {
    if (t.kind !== "folder") return undefined;
    return holdsAccelerate(t.entries) ? "Accelerate save_state files (random_states_N.pkl, scheduler.bin, custom_checkpoint_N.pkl)" : undefined;
  },
  load: (loader, target, options) => loadAccelerate(loader, target as Target & { kind: "folder" }, options),
});

async function loadAccelerate(loader: FileLoader, target: Target & { kind: "folder" }, options: VerifyOptions): Promise<NormalisedCheckpoint> {
  const c = baseCheckpoint("accelerate", loader.root, "Accelerate save_state files");
  const nested = await readNested(loader, "", target.entries, options);
  const findings: RankFinding[] = [];
  const add = (f: RankFinding) => void findings.push(f);
  const files = indexFiles(target.entries);
  const nestedOptimizer = nestedPart(nested, "optimizer");
  checkIndices(files, nestedOptimizer !== undefined, add);
  const optional = ["scaler.pt", "sampler.bin", ...files.schedulers.map(schedulerName), ...files.custom.map(customName)];
  const specs: ExpectedFile[] = [
    ...(nestedOptimizer ? [] : [{ rel: "optimizer.bin", role: "optimizer state", required: true, expect: "torch" as const }]),
    ...files.optimizers.filter((i) => i > 0).map((i) => ({ rel: optimizerName(i), role: "optimizer state", required: true, expect: "torch" as const })),
    ...(files.ranks.length > 0 ? files.ranks : [0]).map((i) => ({ rel: rngName(i), role: "process RNG state, written by every process", required: true, expect: "torch" as const })),
    ...optional.filter((rel) => target.entries.some((e) => e.name === rel)).map((rel) => ({ rel, role: "saved by Accelerator.save_state", required: false, expect: "torch" as const })),
  ];
  const examined = await examineAll(loader, specs);
  const weights = await resolveWeights(loader);
  const nestedWeights = nested.flatMap((n) => n.weights ?? []);
  c.weights = weights.expected.length === 0 && nestedWeights.length > 0 ? { ...weights.view, candidates: [], files: nestedWeights } : weights.view;
  c.expectedFiles = [...examined, ...weights.expected, ...nested.flatMap((n) => n.expectedFiles)];
  c.leftovers = await leftovers(loader);
  const decoded = new Map<string, Awaited<ReturnType<FileLoader["decode"]>>>();
  for (const spec of examined) if (spec.problem?.code !== "FILE_MISSING") decoded.set(spec.rel, await loader.decode(spec.rel, spec.problem && `${spec.rel} is unusable (see required-files)`));
  c.stateFiles = [...[...decoded.values()].map((d) => d.state), ...nested.flatMap((n) => n.stateFiles)];
  const rngSteps = checkRngFiles(files.ranks, decoded, add);
  const part = <T>(rel: string, read: (d: NonNullable<ReturnType<typeof decoded.get>>) => Promise<Part<T>> | Part<T>, absent: Part<T>): Promise<Part<T>> | Part<T> => {
    const d = decoded.get(rel);
    if (!d) return absent;
    if (d.state.unusable || d.state.problem) return { state: "unavailable", reason: `${rel} could not be read` };
    return read(d);
  };
  c.optimizer = nestedOptimizer ?? (await part<OptimizerView>("optimizer.bin", (d) => readOptimizer(d.value, { where: "optimizer.bin", required: true }, d.scalar), { state: "unavailable", reason: "optimizer.bin is missing (see required-files)" }));
  c.scheduler = nestedPart(nested, "scheduler") ?? (await part<SchedulerView>("scheduler.bin", (d) => readScheduler(d.value, { where: "scheduler.bin", required: false }), { state: "unavailable", reason: "no scheduler.bin: no LR scheduler was registered with prepare()" }));
  c.scaler = await part("scaler.pt", (d) => readScaler(d.value, { where: "scaler.pt", required: false }, d.scalar), { state: "unavailable", reason: "no scaler.pt: the run used no fp16 GradScaler" });
  const processes = files.ranks.length > 0 ? files.ranks[files.ranks.length - 1]! + 1 : undefined;
  c.progress = progressOf(target.name, c.optimizer, c.scheduler, processes ?? 1);
  const save: ShardedSave = {
    format: "accelerate",
    rel: "",
    worldSize: processes,
    globalStep: c.progress.state === "present" ? c.progress.view.globalStep : undefined,
    describe: describe(processes, rngSteps, files.custom.length, nested.map((n) => n.save.format)) + (c.progress.state === "present" ? `; ${c.progress.view.describe}` : ""),
    findings,
  };
  c.sharded = [save, ...nested.map((n) => n.save)];
  return c;
}

/** Every process's RNG file decodes with accelerate's keys, and all record the same `step`. */
function checkRngFiles(ranks: number[], decoded: Map<string, { value?: unknown }>, add: (f: RankFinding) => void): Map<string, number[]> {
  const steps = new Map<string, number[]>();
  for (const r of ranks) {
    const v = decoded.get(rngName(r))?.value as PyDict | undefined;
    if (!isDict(v)) continue;
    const missing = RNG_KEYS.filter((k) => !v.has(k));
    if (missing.length > 0) add({ level: "warn", code: "ACCELERATE_RNG_INCOMPLETE", data: { file: rngName(r), keys: missing.join(", ") }, file: rngName(r) });
    const step = v.get("step");
    const key = isInt(step) ? String(step) : "none";
    steps.set(key, [...(steps.get(key) ?? []), r]);
  }
  if (steps.size > 1) add({ level: "error", code: "ACCELERATE_RNG_STEPS_DISAGREE", data: { detail: [...steps.entries()].map(([s, rs]) => `step ${s} in ${rs.slice(0, 5).map(rngName).join(", ")}${rs.length > 5 ? ` and ${rs.length - 5} more` : ""}`).join("; ") } });
  return steps;
}

/**
 * Accelerate records no global step: the progress is the step_N folder name of
 * its example scripts when there is one, else the optimizer's step count.
 * AcceleratedScheduler steps the scheduler once per process per optimizer step
 * unless split_batches, so last_epoch is compared with steps x processes when
 * that is what the numbers say.
 */
function progressOf(folder: string, opt: Part<OptimizerView>, sched: Part<SchedulerView>, processes: number): Part<Progress> {
  const named = STEP_FOLDER.exec(folder);
  const optSteps = opt.state === "present" ? mostCommon(opt.view.steps.map((s) => s.step)) : undefined;
  const globalStep = named ? Number(named[1]) : optSteps;
  if (globalStep === undefined) return { state: "unavailable", reason: "Accelerate records no global step, and the optimizer's step count could not be read" };
  const last = sched.state === "present" ? sched.view.lastEpoch : undefined;
  const base = optSteps ?? globalStep;
  const perProcess = processes > 1 && last !== undefined && Math.abs(last - base * processes) < Math.abs(last - base);
  return {
    state: "present",
    view: {
      globalStep,
      gradAccum: 1,
      gradAccumRecorded: false,
      expectedOptimizerSteps: named ? globalStep : undefined,
      formula: named ? `the folder name ${folder}` : undefined,
      metrics: [],
      ...(perProcess ? { schedulerStepsPerOptimizerStep: { factor: processes, why: `${processes} processes: Accelerate steps the scheduler once per process unless split_batches` } } : {}),
      describe: named ? `folder ${folder}: ${globalStep} steps` : `optimizer step ${globalStep} (Accelerate records no global step)`,
    },
  };
}

function mostCommon(values: (number | undefined)[]): number | undefined {
  const counts = new Map<number, number>();
  for (const v of values) if (v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}

function describe(processes: number | undefined, steps: Map<string, number[]>, custom: number, nested: string[]): string {
  const step = steps.size === 1 ? `, accelerator step ${[...steps.keys()][0]}` : "";
  const inner = nested.length > 0 ? `; ${[...new Set(nested)].join(" and ")} save(s) inside` : "";
  return `${processes ?? "no"} process RNG file(s)${step}, ${custom} custom object(s)${inner}`;
}
