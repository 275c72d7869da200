import { PyDict, isDict, seqItems, toNumber, type PyValue, type Tensor } from "../../formats/pickle/values.js";
import { readOptimizer, readScaler } from "../torch-state.js";
import type { OptimizerView, Part, Progress, RankFinding, ScalerView } from "../types.js";
import { iterationOf, readArgs } from "./args.js";

/** What one Megatron state (a legacy rank file, or a torch_dist common state) tells the checks. */
export interface MegatronParts {
  iteration?: number;
  optimizer: Part<OptimizerView>;
  scaler: Part<ScalerView>;
  progress: Part<Progress>;
}

type Scalar = (t: Tensor) => Promise<number | undefined>;

/**
 * research/distributed-layouts.md section 4.1: `optimizer` is {optimizer: the inner torch state,
 * grad_scaler?, fp32_from_fp16_params?}; the distributed optimizer keeps only param_groups (each
 * with its `step`) there and its tensors in distrib_optim.pt. The step counter is `iteration`.
 */
export async function megatronParts(d: PyDict, file: string, scalar: Scalar): Promise<MegatronParts> {
  const iteration = iterationOf(d);
  const opt = d.get("optimizer");
  const inner = isDict(opt) && isDict(opt.get("optimizer")) ? (opt.get("optimizer") as PyDict) : opt;
  const where = `${file}: optimizer`;
  const optimizer: Part<OptimizerView> =
    opt === undefined
      ? { state: "missing", ref: { where: `${where} (saved with --no-save-optim?)`, required: true } }
      : await withGroupSteps(inner, where, scalar);
  const gs = isDict(opt) ? opt.get("grad_scaler") : undefined;
  const scaler: Part<ScalerView> = gs === undefined || gs === null ? { state: "unavailable", reason: "no grad_scaler: the run did not use fp16 loss scaling" } : await readScaler(gs, { where: `${file}: optimizer.grad_scaler`, required: false }, scalar);
  const args = readArgs(d.get("args"));
  const consumed = args?.consumedTrainSamples;
  const progress: Part<Progress> =
    iteration === undefined
      ? { state: "invalid", ref: { where: `${file}: iteration`, required: true }, reason: "it is missing or not an integer" }
      : {
          state: "present",
          view: {
            globalStep: iteration,
            gradAccum: 1,
            gradAccumRecorded: true,
            expectedOptimizerSteps: iteration,
            formula: `iteration ${iteration}`,
            stepsToSkip: iteration,
            skipFormula: `iteration ${iteration}${consumed !== undefined ? `, consumed_train_samples ${consumed}` : ""}`,
            metrics: [],
            describe: `iteration ${iteration}${consumed !== undefined ? `, consumed_train_samples ${consumed}` : ""}`,
          },
        };
  return { iteration, optimizer, scaler, progress };
}

/** The distributed optimizer has no per-parameter state: its step is per param group. */
async function withGroupSteps(inner: PyValue | undefined, where: string, scalar: Scalar): Promise<Part<OptimizerView>> {
  if (!isDict(inner) || inner.has("state")) return readOptimizer(inner, { where, required: true }, scalar);
  const copy = new PyDict();
  for (const [k, v] of inner.entries()) copy.set(k, v);
  copy.set("state", new PyDict());
  const part = await readOptimizer(copy, { where, required: true }, scalar);
  if (part.state !== "present") return part;
  const groups = seqItems(inner.get("param_groups")) ?? [];
  part.view.steps = groups.map((g, i) => ({ param: `param group ${i}`, step: isDict(g) ? toNumber(g.get("step")) : undefined }));
  return part;
}

/**
 * Section 4.3's counters: the scheduler counts samples, so num_steps cannot pass
 * consumed_train_samples; without a batch-size ramp-up, consumed_train_samples is
 * iteration x global_batch_size; the saved degrees multiply to the world size.
 */
export function checkCounters(d: PyDict, file: string, add: (f: RankFinding) => void): void {
  const args = readArgs(d.get("args"));
  const iteration = iterationOf(d);
  if (!args) return;
  const sched = d.get("opt_param_scheduler") ?? d.get("lr_scheduler");
  const numSteps = isDict(sched) ? toNumber(sched.get("num_steps")) : undefined;
  const consumed = args.consumedTrainSamples;
  if (numSteps !== undefined && consumed !== undefined && numSteps > consumed) add({ level: "warn", code: "MEGATRON_SCHEDULER_AHEAD", data: { file, numSteps, consumed }, file });
  if (!args.rampup && iteration !== undefined && consumed !== undefined && args.globalBatchSize !== undefined && consumed !== iteration * args.globalBatchSize) {
    add({ level: "warn", code: "MEGATRON_SAMPLES_MISMATCH", data: { file, consumed, iteration, gbs: args.globalBatchSize, expected: iteration * args.globalBatchSize }, file });
  }
  if (args.worldSize !== undefined && args.dataParallel !== undefined && args.dataParallel * args.tp * args.pp * args.cp !== args.worldSize) {
    add({ level: "warn", code: "MEGATRON_ARGS_INCONSISTENT", data: { file, detail: `data_parallel_size ${args.dataParallel} x tp ${args.tp} x pp ${args.pp} x cp ${args.cp} is not world_size ${args.worldSize}` }, file });
  }
}
