import type { VerifyOptions } from "../core/options.js";
import { isDict, isInt, pyTypeName, seqItems, toNumber, type PyDict, type PyValue, type Tensor } from "../formats/pickle/values.js";
import { baseCheckpoint, examineAll, leftovers } from "./common.js";
import { defineLayout, type Target } from "./define.js";
import type { FileLoader } from "./file-loader.js";
import { nestedPart, readNested, type NestedRead } from "./nested.js";
import { readOptimizer, readScaler, readScheduler } from "./torch-state.js";
import type { NormalisedCheckpoint, Problem } from "./types.js";
import { collectTensors } from "./walk.js";
import { dirname } from "node:path";
import { readLightningResume } from "./lightning-resume.js";
import { resolveLightningRun } from "./run-folder.js";

const REQUIRED = ["epoch", "global_step", "pytorch-lightning_version", "state_dict"];
/** Where Lightning's precision plugins keep the GradScaler state, newest name first. */
const SCALER_KEYS = ["MixedPrecision", "MixedPrecisionPlugin", "NativeMixedPrecisionPlugin", "native_amp_scaling_state"];

/** The model and optimizer of a sharded save live in its DCP or DeepSpeed files, not in the Lightning dict. */
const SHARDED_REQUIRED = ["epoch", "global_step", "pytorch-lightning_version"];

/**
 * A PyTorch Lightning checkpoint (checkpoint_connector.dump_checkpoint): a
 * `.ckpt` file, or a `.ckpt` folder written by a sharded strategy (DeepSpeed:
 * a DeepSpeed save whose model_states file holds Lightning's keys; FSDP and
 * ModelParallel: a DCP folder plus `meta.pt`, written last, holding them).
 */
export const lightningLayout = defineLayout({
  name: "lightning",
  takes: ["file", "folder"],
  detect: (t) => (t.name.toLowerCase().endsWith(".ckpt") ? (t.kind === "file" ? "a Lightning .ckpt file" : "a Lightning sharded checkpoint (a .ckpt folder)") : undefined),
  load: (loader, target, options) => (target.kind === "file" ? loadLightning(loader, target.file) : loadLightningFolder(loader, target, options)),
  resolve: resolveLightningRun,
});

async function loadLightning(loader: FileLoader, rel: string): Promise<NormalisedCheckpoint> {
  const c = baseCheckpoint("lightning", loader.abs(rel), "a Lightning .ckpt file");
  c.pathStatus = { ok: true, kind: "a file" };
  const [spec] = await examineAll(loader, [{ rel, role: "Lightning checkpoint", required: true, expect: "torch" }]);
  c.expectedFiles = [spec!];
  const d = await loader.decode(rel, spec!.problem && `${rel} is unusable (see required-files)`);
  c.stateFiles = [d.state];
  if (!isDict(d.value)) return notADict(c, rel, d.value);
  await fromLightningDict(c, rel, d.value, d.scalar, []);
  c.resume = await readLightningResume(loader, rel, d.value, loader.root, d.scalar);
  const tensors = collectTensors(d.value.get("state_dict") ?? null);
  c.weights = { candidates: [], files: [{ rel: `${rel}: state_dict`, kind: "embedded", tensors, size: spec!.size ?? 0, verdicts: [], torchProblems: [] }], unusable: [], missingShards: [] };
  return c;
}

/** A `.ckpt` folder: Lightning's dict is DeepSpeed's model_states file (the nested read says which) or `meta.pt`. */
async function loadLightningFolder(loader: FileLoader, target: Target & { kind: "folder" }, options: VerifyOptions): Promise<NormalisedCheckpoint> {
  const c = baseCheckpoint("lightning", loader.root, "a Lightning sharded checkpoint (a .ckpt folder)");
  const nested = await readNested(loader, "", target.entries, options);
  c.sharded = nested.map((n) => n.save);
  c.leftovers = await leftovers(loader);
  const host = nested.find((n) => n.hostState)?.hostState;
  const files = host ? [] : await examineAll(loader, [{ rel: "meta.pt", role: "Lightning's state, written last: marks a complete sharded save", required: true, expect: "torch" }]);
  c.expectedFiles = [...files, ...nested.flatMap((n) => n.expectedFiles)];
  c.stateFiles = nested.flatMap((n) => n.stateFiles);
  let root: PyValue | undefined = host?.value;
  let rel = host?.rel ?? "meta.pt";
  let scalar = host?.scalar;
  if (!host) {
    const d = await loader.decode(rel, files[0]!.problem && `${rel} is unusable (see required-files)`);
    c.stateFiles.unshift(d.state);
    [root, scalar] = [d.value, d.scalar];
  }
  const weights = nested.flatMap((n) => n.weights ?? []);
  c.weights = { candidates: [], files: weights, unusable: [], missingShards: [] };
  if (!isDict(root)) return notADict(c, rel, root);
  await fromLightningDict(c, rel, root, scalar!, nested);
  c.resume = await readLightningResume(loader, rel, root, dirname(loader.root), scalar!);
  return c;
}

function notADict(c: NormalisedCheckpoint, rel: string, root: PyValue | undefined): NormalisedCheckpoint {
  if (root !== undefined) c.schemaProblems.push({ code: "STATE_NOT_A_DICT", data: { file: rel, type: pyTypeName(root) }, file: rel });
  c.progress = c.optimizer = c.scheduler = c.scaler = { state: "unavailable", reason: `${rel} could not be decoded` };
  return c;
}

/** Lightning's keys, from a `.ckpt` file's dict or a sharded save's; parts a nested save provides win. */
async function fromLightningDict(c: NormalisedCheckpoint, rel: string, root: PyDict, scalar: (t: Tensor) => Promise<number | undefined>, nested: NestedRead[]): Promise<void> {
  const required = nested.length > 0 ? SHARDED_REQUIRED : REQUIRED;
  c.schemaProblems = required.filter((k) => !root.has(k)).map((key): Problem => ({ code: "STATE_KEY_MISSING", data: { file: rel, key, meaning: "written by every Lightning save" }, file: rel }));
  c.schemaKeys = required;
  const d = { scalar };
  const first = (key: string) => {
    const list = seqItems(root.get(key));
    return list === undefined ? undefined : (list[0] ?? null);
  };
  const opt = first("optimizer_states");
  c.optimizer =
    nestedPart(nested, "optimizer") ??
    (opt === undefined || opt === null
      ? { state: "missing", ref: { where: `${rel}: optimizer_states (a weights-only save)`, required: true } }
      : await readOptimizer(opt, { where: `${rel}: optimizer_states[0]`, required: true }, d.scalar));
  const sched = first("lr_schedulers");
  c.scheduler =
    sched === undefined
      ? { state: "missing", ref: { where: `${rel}: lr_schedulers (a weights-only save)`, required: true } }
      : sched === null
        ? { state: "unavailable", reason: "the run used no LR scheduler (lr_schedulers is empty)" }
        : readScheduler(sched, { where: `${rel}: lr_schedulers[0]`, required: true });
  const scalerKey = SCALER_KEYS.find((k) => root.has(k));
  c.scaler = nestedPart(nested, "scaler") ?? (scalerKey
    ? await readScaler(root.get(scalerKey), { where: `${rel}: ${scalerKey}`, required: false }, d.scalar)
    : { state: "unavailable", reason: "no precision-plugin state: the run did not use a GradScaler" });
  const globalStep = intOf(root.get("global_step"));
  if (globalStep !== undefined) {
    const loopSteps = loopOptimizerSteps(root);
    const epoch = intOf(root.get("epoch"));
    c.progress = {
      state: "present",
      view: {
        epoch,
        globalStep,
        gradAccum: 1,
        gradAccumRecorded: true,
        expectedOptimizerSteps: loopSteps ?? globalStep,
        formula: loopSteps !== undefined ? `the fit loop's optimizer steps ${loopSteps}` : `global_step ${globalStep}`,
        stepsToSkip: loopSteps ?? globalStep,
        skipFormula: `global_step ${globalStep}, epoch ${epoch ?? "?"}`,
        loopOptimizerSteps: loopSteps,
        schedulerMayStepPerEpoch: true,
        metrics: [],
        describe: `epoch ${epoch ?? "?"}, global_step ${globalStep}, Lightning ${String(root.get("pytorch-lightning_version") ?? "?")}`,
      },
    };
  } else c.progress = { state: "unavailable", reason: "global_step is missing" };
}

function intOf(v: PyValue | undefined): number | undefined {
  return isInt(v) ? Number(v) : undefined;
}

/** loops.fit_loop[...optim_progress].optimizer.step.total.completed: what Lightning restores from (2.x and 1.x key names). */
function loopOptimizerSteps(root: PyDict): number | undefined {
  const fit = dictAt(root, ["loops", "fit_loop"]);
  if (!fit) return undefined;
  for (const key of ["epoch_loop.automatic_optimization.optim_progress", "epoch_loop.batch_loop.optimizer_loop.optim_progress", "epoch_loop.manual_optimization.optim_step_progress"]) {
    const progress = fit.get(key);
    if (!isDict(progress)) continue;
    const total = key.endsWith("optim_step_progress") ? dictAt(progress, ["total"]) : dictAt(progress, ["optimizer", "step", "total"]);
    const completed = toNumber(total?.get("completed"));
    if (completed !== undefined) return completed;
  }
  return undefined;
}

function dictAt(d: PyDict, path: string[]): PyDict | undefined {
  let cur: PyValue | undefined = d;
  for (const k of path) cur = isDict(cur) ? cur.get(k) : undefined;
  return isDict(cur) ? cur : undefined;
}
