import { dirname } from "node:path";
import { PyCall, isDict, toNumber, type PyDict, type PyValue } from "../formats/pickle/values.js";
import { readAdapterConfig } from "./adapter-config.js";
import type { FileLoader } from "./file-loader.js";
import { lookUpPath } from "./recorded-paths.js";
import { judgeRngFiles, type RngFile } from "./rng-state.js";
import { torchLoadOf } from "./torch-loads.js";
import type { NormalisedCheckpoint, ResumeView, TorchLoad } from "./types.js";

/**
 * What transformers' safe_globals() allowlists around the RNG load
 * (src/transformers/trainer.py, PR #34632): numpy's array rebuild under its
 * numpy 1 and numpy 2 names, ndarray, dtype, and the uint32 dtype's class
 * that the MT19937 state array's BUILD needs.
 */
const TRANSFORMERS_RNG_ALLOWS: NonNullable<TorchLoad["frameworkAllows"]> = {
  names: ["numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct", "numpy.ndarray", "numpy.dtype", 'type(numpy.dtype("u4"))'],
  how: "transformers wraps this load in its own safe_globals() (trainer.py, PR #34632)",
};

const RNG_FILE = /^rng_state(?:_(\d+))?\.pth$/;
/** Log entries looked at for a run that was diverging when it saved. */
const LAST_LOGS = 5;
const LOGGED_KEYS = ["loss", "grad_norm", "eval_loss"];

/**
 * What Trainer will do on resume (trainer.py `_inner_training_loop`,
 * `_load_optimizer_and_scheduler`, `_load_rng_state`, `_load_best_model`),
 * read from the files the hf-trainer layout already decoded.
 */
export async function readHfResume(loader: FileLoader, c: NormalisedCheckpoint): Promise<ResumeView> {
  const state = await trainerState(loader);
  const args = trainingArgsState(c.stateFiles.find((s) => s.rel === "training_args.bin")?.value);
  const has = (rel: string) => c.stateFiles.some((s) => s.rel === rel && !s.problem && !s.unusable);
  const loads: (TorchLoad | undefined)[] = [];
  for (const rel of ["optimizer.pt", "optimizer.bin"]) if (has(rel)) loads.push(await torchLoadOf(loader, rel, "Trainer._load_optimizer_and_scheduler", true));
  if (has("scheduler.pt")) loads.push(await torchLoadOf(loader, "scheduler.pt", "Trainer._load_optimizer_and_scheduler", false));
  const rngRels = (await loader.list()).map((e) => e.name).filter((n) => RNG_FILE.test(n));
  for (const rel of rngRels) if (has(rel)) loads.push(await torchLoadOf(loader, rel, "Trainer._load_rng_state", false, TRANSFORMERS_RNG_ALLOWS));
  for (const w of c.weights?.files ?? []) if (w.kind === "torch" && !w.problem) loads.push(await torchLoadOf(loader, w.rel, "Trainer._load_from_checkpoint", true));
  const torchLoads = loads.filter((l): l is TorchLoad => l !== undefined);

  const view: ResumeView = { torchLoads, loggedNonFinite: lastLoggedNonFinite(state), recordedPaths: [] };
  const maxSteps = num(state?.["max_steps"]);
  const epochs = num(state?.["num_train_epochs"]);
  const epoch = num(state?.["epoch"]);
  if (maxSteps !== undefined || epochs !== undefined) view.end = { maxSteps, numTrainEpochs: epochs, epoch, where: "trainer_state.json" };
  const ignore = args?.get("ignore_data_skip");
  if (typeof ignore === "boolean") view.ignoreDataSkip = ignore;
  const best = state?.["best_model_checkpoint"];
  if (typeof best === "string" && best !== "") view.recordedPaths.push(await bestCheckpoint(loader, best, args));
  view.rng = await rngFiles(loader, rngRels, args, torchLoads);
  if (c.stateFiles.some((s) => s.rel === "adapter_config.json") || (await loader.exists("adapter_config.json"))) view.adapter = await readAdapterConfig(loader, "adapter_config.json");
  return view;
}

async function trainerState(loader: FileLoader): Promise<Record<string, unknown> | undefined> {
  const json = await loader.json("trainer_state.json");
  const v = json.value;
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** NaN or infinite losses and gradient norms among the last logged training entries and the last evaluation. */
function lastLoggedNonFinite(state: Record<string, unknown> | undefined): ResumeView["loggedNonFinite"] {
  const history = state?.["log_history"];
  if (!Array.isArray(history)) return [];
  const entries = history.filter((e): e is Record<string, unknown> => e !== null && typeof e === "object" && !Array.isArray(e));
  const training = entries.filter((e) => "loss" in e || "grad_norm" in e).slice(-LAST_LOGS);
  const evaluation = entries.filter((e) => "eval_loss" in e).slice(-1);
  const out: ResumeView["loggedNonFinite"] = [];
  for (const e of [...training, ...evaluation]) {
    for (const key of LOGGED_KEYS) {
      const v = e[key];
      if (typeof v === "number" && !Number.isFinite(v)) out.push({ where: "trainer_state.json: log_history", key, value: v, step: num(e["step"]) });
    }
  }
  return out;
}

async function bestCheckpoint(loader: FileLoader, best: string, args: PyDict | undefined) {
  // Nothing reads it unless the run loads the best model at the end or rotates checkpoints.
  const loadBest = args?.get("load_best_model_at_end");
  const limit = args?.get("save_total_limit");
  const unused = loadBest === false && limit === null;
  const consequence = unused
    ? "training_args.bin turns off load_best_model_at_end and save_total_limit, so nothing reads it in this configuration"
    : "Trainer loads it at the end of training (load_best_model_at_end) and keeps it when rotating checkpoints (save_total_limit): " +
    "missing, the run ends without the best model (only a logged warning), and with save_total_limit=1 transformers before PR #48319 crashes in os.path.samefile after the whole run";
  return lookUpPath("trainer_state.json: best_model_checkpoint", best, dirname(loader.root), consequence, unused);
}

async function rngFiles(loader: FileLoader, rels: string[], args: PyDict | undefined, loads: TorchLoad[]): Promise<ResumeView["rng"]> {
  if (rels.length === 0) return undefined;
  const perRank = rels.filter((r) => RNG_FILE.exec(r)![1] !== undefined);
  const chosen = perRank.length > 0 ? perRank : rels;
  const files: RngFile[] = [];
  for (const rel of chosen) {
    const d = await loader.decode(rel);
    files.push({ rel, rank: Number(RNG_FILE.exec(rel)![1] ?? 0), ...(d.state.problem || d.state.unusable ? {} : { value: d.value }) });
  }
  const findings = judgeRngFiles(files, {
    framework: "Trainer",
    keys: ["python", "numpy", "cpu"],
    gpuKey: "cuda",
    gpu: gpuEvidence(args, loads),
    onMissingFile: "Trainer logs it at INFO level only and that rank resumes with fresh random state (dropout, shuffling)",
    // trainer.py _load_rng_state reads python, numpy and cpu unguarded; cuda is guarded (logged at INFO) except in distributed mode.
    onMissingKeys: (keys) =>
      keys.some((k) => k !== "cuda")
        ? { level: "error", consequence: "Trainer._load_rng_state raises KeyError on it, after the model and optimizer are loaded" }
        : { level: "warn", consequence: "a GPU resume raises KeyError in distributed (DDP) mode, and otherwise logs it at INFO level and keeps a fresh CUDA random state" },
  });
  const ranks = files.reduce((m, f) => Math.max(m, f.rank), -1) + 1;
  return { ranks, files: chosen, findings };
}

/** Why the run is known to have been on GPUs: TrainingArguments' device, or CUDA storages in the optimizer. */
function gpuEvidence(args: PyDict | undefined, loads: TorchLoad[]): string | undefined {
  const nGpu = num(args?.get("_n_gpu"));
  if (nGpu !== undefined && nGpu >= 1) return `training_args.bin: _n_gpu ${nGpu}`;
  for (const l of loads) for (const device of l.devices.keys()) if (device.startsWith("cuda")) return `${l.rel} holds storages on ${device}`;
  return undefined;
}

/** TrainingArguments' fields: the BUILD state of the inert object training_args.bin decodes to. */
function trainingArgsState(v: PyValue | undefined): PyDict | undefined {
  const state = v instanceof PyCall ? v.state : undefined;
  return isDict(state) ? state : undefined;
}

/** A finite number from JSON or a decoded pickle, else undefined. */
function num(v: unknown): number | undefined {
  const n = typeof v === "number" ? v : toNumber(v as PyValue);
  return n !== undefined && Number.isFinite(n) ? n : undefined;
}
