import { itemSizeOf } from "../../formats/torch/dtypes.js";
import { PyDict, PyList, Tensor, isDict, isInt, type PyValue } from "../../formats/pickle/values.js";
import { readOptimizer, readScheduler } from "../torch-state.js";
import type { OptimizerView, Part, Progress, RankFinding, SchedulerView, WeightTensor, WeightsFile } from "../types.js";

/** torchtitan's step-N folders. */
const STEP_FOLDER = /^step-(\d+)$/;

export interface DcpParts {
  optimizer?: Part<OptimizerView>;
  scheduler?: Part<SchedulerView>;
  progress?: Part<Progress>;
  weights?: WeightsFile;
  /** Who wrote it, when the keys say so ("torchtitan"). */
  producer?: string;
  globalStep?: number;
  /** torchtitan's dataloader records the data-parallel degree it was saved with. */
  dataParallel?: number;
}

/**
 * What the rebuilt state dict holds (research/distributed-layouts.md section
 * 2.6): the optimizer and LR scheduler state dicts wherever they sit (found by
 * their keys, not their names), torchtitan's `train_state` and `dataloader`,
 * and every other tensor as the model.
 */
export async function partsOf(tree: PyDict, where: string, folderName: string, scalar: (t: Tensor) => Promise<number | undefined>, add: (f: RankFinding) => void): Promise<DcpParts> {
  const out: DcpParts = {};
  const opt = findDicts(tree, isOptimizer)[0];
  if (opt) out.optimizer = await readOptimizer(asTorchOptimizer(opt.value), { where: `${where}: ${opt.key}`, required: true }, scalar);
  const sched = findDicts(tree, isScheduler)[0];
  if (sched) out.scheduler = readScheduler(sched.value, { where: `${where}: ${sched.key}`, required: true });
  const train = tree.get("train_state");
  if (isDict(train)) {
    out.producer = "torchtitan";
    const step = train.get("step");
    const n = isInt(step) ? Number(step) : step instanceof Tensor && step.numel === 1 ? await scalar(step) : undefined;
    out.progress = n === undefined ? { state: "invalid", ref: { where: `${where}: train_state.step`, required: true }, reason: "it is not an integer" } : { state: "present", view: titanProgress(n, train, folderName) };
    out.globalStep = n;
    out.dataParallel = checkDataloader(tree.get("dataloader"), where, add);
  }
  out.weights = weightsOf(tree, where);
  return out;
}

const isOptimizer = (d: PyDict) => d.has("state") && d.has("param_groups");
const isScheduler = (d: PyDict) => d.has("last_epoch") && (d.has("base_lrs") || d.has("_step_count"));
const MAX_SEARCH_DEPTH = 4;

/**
 * Dicts that match `test`, breadth first in key order, not looking inside a
 * match: the optimizer is `optimizer` for torchtitan and Accelerate,
 * `optimizer_0` for Lightning, `app.optim` in torch's DCP tutorial.
 */
function findDicts(tree: PyDict, test: (d: PyDict) => boolean): { key: string; value: PyDict }[] {
  const out: { key: string; value: PyDict }[] = [];
  let level: [string, PyDict][] = [["", tree]];
  for (let depth = 0; depth < MAX_SEARCH_DEPTH && level.length > 0; depth++) {
    const next: [string, PyDict][] = [];
    for (const [name, d] of level) {
      for (const [k, v] of d.entries()) {
        if (!isDict(v)) continue;
        const key = name ? `${name}.${String(k)}` : String(k);
        if (test(v)) out.push({ key, value: v });
        else next.push([key, v]);
      }
    }
    level = next;
  }
  return out;
}

/** torchtitan's flat optimizer keys param_groups by FQN; torch's layout is a list of groups with their params. */
function asTorchOptimizer(v: PyValue | undefined): PyValue | undefined {
  if (!isDict(v)) return v;
  const groups = v.get("param_groups");
  if (!isDict(groups)) return v;
  const out = new PyDict(v.className);
  for (const [k, x] of v.entries()) out.set(k, x);
  const list = new PyList();
  for (const [fqn, g] of groups.entries()) {
    if (!isDict(g)) continue;
    const copy = new PyDict();
    for (const [k, x] of g.entries()) copy.set(k, x);
    copy.set("params", new PyList([fqn]));
    list.items.push(copy);
  }
  out.set("param_groups", list);
  return out;
}

function titanProgress(step: number, train: PyDict, folder: string): Progress {
  const m = STEP_FOLDER.exec(folder);
  const tokens = train.get("ntokens_seen");
  return {
    globalStep: step,
    gradAccum: 1,
    gradAccumRecorded: false,
    expectedOptimizerSteps: step,
    formula: `train_state.step ${step}`,
    stepsToSkip: step,
    skipFormula: `train_state.step ${step}`,
    folderStep: m ? Number(m[1]) : undefined,
    folderName: m ? folder : undefined,
    metrics: [],
    describe: `train_state.step ${step}${isInt(tokens) ? `, ${String(tokens)} tokens seen` : ""}`,
  };
}

/** torchtitan's dataloader saves one key per data-parallel rank and the degree; a rank without its key restarts its data order. */
function checkDataloader(v: PyValue | undefined, where: string, add: (f: RankFinding) => void): number | undefined {
  if (!isDict(v)) return undefined;
  const world = v.get("world_size");
  const saved = v.keys().filter((k): k is string => typeof k === "string" && /^dp_rank_\d+$/.test(k)).map((k) => Number(k.slice(8)));
  if (!isInt(world) || saved.length === 0) return undefined;
  const n = Number(world);
  const have = new Set(saved);
  const missing: number[] = [];
  for (let r = 0; r < Math.min(n, 100_000) && missing.length < 10; r++) if (!have.has(r)) missing.push(r);
  const extra = saved.filter((r) => r >= n);
  if (missing.length > 0 || extra.length > 0) {
    add({ level: "warn", code: "DCP_DATALOADER_RANKS", data: { where: `${where}: dataloader`, worldSize: n, saved: saved.length, missing: missing.length > 0 ? missing.join(", ") : "none", extra: extra.length > 0 ? extra.slice(0, 10).join(", ") : "none" } });
  }
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Every tensor outside the optimizer's state: the model (under `model`, `state_dict`, or at the top for torchtitan). */
function weightsOf(tree: PyDict, where: string): WeightsFile | undefined {
  const tensors: WeightTensor[] = [];
  const stack: [string, PyValue, number][] = [["", tree, 0]];
  while (stack.length > 0 && tensors.length < MAX_TENSORS) {
    const [name, v, depth] = stack.pop()!;
    if (v instanceof Tensor) tensors.push({ name, dtype: v.dtype, shape: v.shape });
    else if (isDict(v) && !isOptimizer(v) && depth < MAX_TREE_DEPTH) {
      for (const [k, x] of v.entries().reverse()) stack.push([name ? `${name}.${String(k)}` : String(k), x, depth + 1]);
    } else if (v instanceof PyList && depth < MAX_TREE_DEPTH) v.items.forEach((x, i) => stack.push([`${name}.${i}`, x, depth + 1]));
  }
  if (tensors.length === 0) return undefined;
  const size = tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1) * (itemSizeOf(t.dtype) ?? 0), 0);
  return { rel: `${where}: model`, kind: "embedded", tensors, size, verdicts: [], torchProblems: [] };
}

const MAX_TENSORS = 1_000_000;
const MAX_TREE_DEPTH = 64;
