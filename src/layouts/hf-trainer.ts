import * as z from "zod";
import { PyCall, isDict, toNumber, type PyValue } from "../formats/pickle/values.js";
import type { VerifyOptions } from "../core/options.js";
import { defineLayout, savedName, type Target } from "./define.js";
import { holdsAccelerate } from "./accelerate/files.js";
import { nestedPart, readNested } from "./nested.js";
import { baseCheckpoint, examineAll, leftovers } from "./common.js";
import type { FileLoader } from "./file-loader.js";
import { readOptimizer, readScaler, readScheduler } from "./torch-state.js";
import type { ExpectedFile, NormalisedCheckpoint, Part, Progress, StateFile } from "./types.js";
import { resolveWeights } from "./weights.js";
import { readHfResume } from "./hf-resume.js";
import { resolveTrainerRun } from "./run-folder.js";

export const FOLDER = /^checkpoint-(\d+)$/;

const TrainerState = z.object({
  global_step: z.number().int().nonnegative(),
  epoch: z.number().nullable().optional(),
  max_steps: z.number().optional(),
  num_train_epochs: z.number().optional(),
  log_history: z.array(z.object({ step: z.number().optional() }).passthrough()).optional(),
});

const MARKERS = ["trainer_state.json", "optimizer.pt", "optimizer.bin", "scheduler.pt", "training_args.bin"];

/** A transformers Trainer `checkpoint-N/` folder (trainer.py `_save_checkpoint`). */
export const hfTrainerLayout = defineLayout({
  name: "hf-trainer",
  takes: ["folder"],
  detect: (t) => {
    if (t.kind !== "folder") return undefined;
    if (FOLDER.test(t.name)) return "a Trainer checkpoint-N folder";
    // Accelerate's save_state also writes optimizer.bin; its random_states_N.pkl are its own.
    if (holdsAccelerate(t.entries) && !t.entries.some((e) => e.name === "trainer_state.json")) return undefined;
    return t.entries.some((e) => MARKERS.includes(savedName(e.name))) ? "Hugging Face Trainer files present" : undefined;
  },
  load: (loader, target, options) => loadHfTrainer(loader, target, options),
  resolve: resolveTrainerRun,
});

async function loadHfTrainer(loader: FileLoader, target: Target, options: VerifyOptions): Promise<NormalisedCheckpoint> {
  const c = baseCheckpoint("hf-trainer", loader.root, "Hugging Face Trainer files present");
  // Under DeepSpeed or FSDP the optimizer (and maybe the scheduler) live in a nested multi-rank save, not in optimizer.pt.
  const nested = target.kind === "folder" ? await readNested(loader, "", target.entries, options) : [];
  c.sharded = nested.map((n) => n.save);
  const optimizerRel = (await loader.exists("optimizer.bin")) && !(await loader.exists("optimizer.pt")) ? "optimizer.bin" : "optimizer.pt";
  const optional = ["scaler.pt", "training_args.bin", "config.json", "adapter_config.json", ...(await rngFiles(loader))];
  const present = [];
  for (const rel of optional) if (await loader.exists(rel)) present.push(rel);
  const specs: ExpectedFile[] = [
    { rel: "trainer_state.json", role: "trainer state, written last: marks a complete save", required: true, expect: "json" },
    { rel: optimizerRel, role: "optimizer state", required: !nestedPart(nested, "optimizer"), expect: "torch" },
    { rel: "scheduler.pt", role: "LR scheduler state", required: !nestedPart(nested, "scheduler"), expect: "torch" },
    ...present.map((rel) => ({ rel, role: "saved by Trainer", required: false, expect: rel.endsWith(".json") ? ("json" as const) : ("torch" as const) })),
  ];
  const weights = await resolveWeights(loader);
  const files = await examineAll(loader, specs);
  c.expectedFiles = [...files.filter((f) => f.required || f.problem?.code !== "FILE_MISSING"), ...weights.expected, ...nested.flatMap((n) => n.expectedFiles)];
  c.weights = weights.view;
  // Under FSDP the model is a nested save (pytorch_model_fsdp_0/) and Trainer writes no weights file of its own.
  const nestedWeights = nested.flatMap((n) => n.weights ?? []);
  if (weights.expected.length === 0 && nestedWeights.length > 0) c.weights = { ...weights.view, candidates: [], files: nestedWeights };
  c.leftovers = await leftovers(loader);
  const spec = (rel: string) => files.find((f) => f.rel === rel);
  const usable = (rel: string) => (spec(rel)?.problem ? `${rel} is unusable (see required-files)` : undefined);
  const cfg = spec("config.json") ?? spec("adapter_config.json");
  if (cfg) c.config = cfg.problem ? { rel: cfg.rel, problem: cfg.problem } : { rel: cfg.rel, text: (await loader.json(cfg.rel)).text };

  const torchRels = [optimizerRel, "scheduler.pt", ...present.filter((r) => !r.endsWith(".json"))];
  const decoded = new Map<string, Awaited<ReturnType<FileLoader["decode"]>>>();
  for (const rel of torchRels) if (spec(rel) && spec(rel)!.problem?.code !== "FILE_MISSING") decoded.set(rel, await loader.decode(rel, usable(rel)));
  const trainerState = await readTrainerState(loader, spec("trainer_state.json")!);
  c.stateFiles = [...(trainerState.file ? [trainerState.file] : []), ...[...decoded.values()].map((d) => d.state), ...nested.flatMap((n) => n.stateFiles)];

  const part = async <T>(rel: string, read: (d: NonNullable<ReturnType<typeof decoded.get>>) => Promise<Part<T>> | Part<T>, missing: Part<T>): Promise<Part<T>> => {
    const d = decoded.get(rel);
    if (!d) return missing;
    if (d.state.unusable || d.state.problem) return { state: "unavailable", reason: `${rel} could not be read` };
    return read(d);
  };
  c.optimizer =
    nestedPart(nested, "optimizer") ??
    (await part(optimizerRel, (d) => readOptimizer(d.value, { where: optimizerRel, required: true }, d.scalar), { state: "unavailable", reason: `${optimizerRel} is missing (see required-files)` }));
  c.scheduler =
    nestedPart(nested, "scheduler") ??
    (await part("scheduler.pt", (d) => readScheduler(d.value, { where: "scheduler.pt", required: true }), { state: "unavailable", reason: "scheduler.pt is missing (see required-files)" }));
  const args = trainingArgs(decoded.get("training_args.bin")?.value);
  const scalerMissing: Part<never> =
    args.fp16 === false
      ? { state: "unavailable", reason: "training_args.bin says fp16 is off: no scaler is saved" }
      : { state: "missing", ref: { where: `scaler.pt${args.fp16 ? " (training_args.bin says fp16 is on)" : ""}`, required: false } };
  c.scaler = nestedPart(nested, "scaler") ?? await part("scaler.pt", (d) => readScaler(d.value, { where: "scaler.pt", required: false }, d.scalar), scalerMissing);
  c.progress = trainerState.progress ? { state: "present", view: progressOf(trainerState.progress, target.name, args.gradAccum ?? options.gradientAccumulationSteps, args.ignoreDataSkip) } : { state: "unavailable", reason: "trainer_state.json is missing or invalid" };
  c.resume = await readHfResume(loader, c);
  return c;
}

async function rngFiles(loader: FileLoader): Promise<string[]> {
  return (await loader.list()).map((e) => e.name).filter((n) => /^rng_state(_\d+)?\.pth$/.test(n));
}

async function readTrainerState(loader: FileLoader, spec: ExpectedFile): Promise<{ file?: StateFile; progress?: z.infer<typeof TrainerState> }> {
  if (spec.problem) return {};
  const json = await loader.json(spec.rel);
  if (json.problem) return { file: { rel: spec.rel, json: true, problem: json.problem, verdicts: [], torchProblems: [] } };
  const parsed = TrainerState.safeParse(json.value);
  if (!parsed.success) {
    const reason = parsed.error.issues.map((i) => `${i.path.join(".") || "root"}: ${i.message}`).join("; ");
    return { file: { rel: spec.rel, json: true, problem: { code: "STATE_JSON_INVALID", data: { reason } }, verdicts: [], torchProblems: [] } };
  }
  const t = parsed.data;
  return { file: { rel: spec.rel, json: true, summary: `global_step ${t.global_step}, epoch ${t.epoch ?? "?"}`, verdicts: [], torchProblems: [] }, progress: t };
}

function progressOf(t: z.infer<typeof TrainerState>, folder: string, gradAccum: number | undefined, ignoreDataSkip: boolean | undefined): Progress {
  const m = FOLDER.exec(folder);
  const logSteps = (t.log_history ?? []).map((e) => e.step).filter((s): s is number => typeof s === "number");
  const perEpoch = updateStepsPerEpoch(t);
  const ga = gradAccum ?? 1;
  // Trainer's fast-forward (trainer.py _inner_training_loop): steps_trained_in_current_epoch = (global_step % steps per epoch) * GA, 0 with ignore_data_skip.
  const seen = perEpoch ? (t.global_step % perEpoch) * ga : undefined;
  const epochs = perEpoch ? Math.floor(t.global_step / perEpoch) : undefined;
  return {
    globalStep: t.global_step,
    gradAccum: ga,
    gradAccumRecorded: gradAccum !== undefined,
    expectedOptimizerSteps: t.global_step,
    formula: `global_step ${t.global_step}`,
    stepsToSkip: seen === undefined ? undefined : ignoreDataSkip ? 0 : seen,
    skipFormula:
      seen === undefined
        ? undefined
        : ignoreDataSkip
          ? `ignore_data_skip is set: epoch ${epochs} starts again from its first batch, repeating the ${seen} batches it had already trained on`
          : `${epochs} epochs done, (${t.global_step} mod ${perEpoch} update steps per epoch) × ${ga} accumulation = ${seen} batches replayed into epoch ${epochs}`,
    folderStep: m ? Number(m[1]) : undefined,
    folderName: folder,
    logHistoryMaxStep: logSteps.length > 0 ? Math.max(...logSteps) : undefined,
    metrics: [],
    describe: `global_step ${t.global_step}, epoch ${t.epoch ?? "?"}${t.max_steps ? ` of max_steps ${t.max_steps}` : ""}`,
  };
}

/**
 * Trainer's num_update_steps_per_epoch is not saved, but the fractional epoch is
 * global_step divided by it (trainer.py sets state.epoch = epoch + (step + 1) /
 * steps_in_epoch); max_steps / num_train_epochs is only close when max_steps was derived.
 */
function updateStepsPerEpoch(t: z.infer<typeof TrainerState>): number | undefined {
  if (t.epoch && t.epoch > 0 && t.global_step > 0) return Math.max(1, Math.round(t.global_step / t.epoch));
  return t.max_steps && t.num_train_epochs ? Math.ceil(t.max_steps / t.num_train_epochs) : undefined;
}

/** The few TrainingArguments fields that matter, read from the inert object's BUILD state. */
function trainingArgs(v: PyValue | undefined): { fp16?: boolean; gradAccum?: number; ignoreDataSkip?: boolean } {
  const state = v instanceof PyCall ? v.state : undefined;
  if (!isDict(state)) return {};
  const fp16 = state.get("fp16");
  const ga = toNumber(state.get("gradient_accumulation_steps"));
  const ignore = state.get("ignore_data_skip");
  return { fp16: typeof fp16 === "boolean" ? fp16 : undefined, gradAccum: ga && ga >= 1 ? ga : undefined, ignoreDataSkip: typeof ignore === "boolean" ? ignore : undefined };
}
