import { PyDict, PyFloat, Tensor, isDict, seqItems, toNumber, type PyValue } from "../formats/pickle/values.js";
import { inferSchedulerKind } from "./schedulers.js";
import { formatNumber } from "../findings/finding.js";
import type { OptimizerView, Part, PartRef, ScalerView, SchedulerView } from "./types.js";
import type { ScalarReader } from "./file-loader.js";

type Scalar = ScalarReader;

/** A number stored as int, float or 0-dim tensor (torch >= 1.12 keeps Adam's step as a tensor). */
export async function numberOf(v: PyValue | undefined, scalar: Scalar): Promise<number | undefined> {
  if (v instanceof Tensor) return v.numel === 1 ? scalar(v) : undefined;
  if (typeof v === "boolean") return undefined;
  return toNumber(v);
}

/** A torch optimizer `state_dict()`: {'state': {id: {...}}, 'param_groups': [{lr, params, ...}]}. */
export async function readOptimizer(v: PyValue | undefined, ref: PartRef, scalar: Scalar): Promise<Part<OptimizerView>> {
  if (v === undefined) return { state: "missing", ref };
  if (!isDict(v)) return { state: "invalid", ref, reason: `it is ${typeof v === "object" && v !== null ? v.constructor.name : typeof v}, not a dict` };
  const state = v.get("state");
  const groups = seqItems(v.get("param_groups"));
  if (!isDict(state) || !groups) return { state: "invalid", ref, reason: "it lacks 'state' (a dict) and 'param_groups' (a list)" };
  // Every `step` tensor is read in one batch (FileLoader's scalar): tens of thousands in a mixture-of-experts model.
  const steps: OptimizerView["steps"] = [];
  const stepTensors: Tensor[] = [];
  const stepOf: OptimizerView["steps"][number][] = [];
  const momentShapes: OptimizerView["momentShapes"] = [];
  const moments: NonNullable<OptimizerView["moments"]> = [];
  // Plain loops over the entries (no callback, no [key, value] array per parameter): tens of thousands of parameters.
  const params = state.interleaved();
  for (let p = 0; p < params.length; p += 2) {
    const s = params[p + 1];
    if (!isDict(s)) continue;
    const entry: OptimizerView["steps"][number] = { param: String(params[p]), step: undefined };
    const fields = s.interleaved();
    let moment: Tensor | undefined;
    let v: PyValue | undefined;
    for (let f = 0; f < fields.length; f += 2) {
      const key = fields[f];
      const x = fields[f + 1];
      if (key === "step") {
        v = x;
        continue;
      }
      if (!(x instanceof Tensor)) continue;
      moments.push({ param: entry.param, key: String(key), dtype: x.dtype });
      if (moment === undefined && x.shape.length > 0) moment = x;
    }
    if (v instanceof Tensor) {
      if (v.numel === 1) {
        stepTensors.push(v);
        stepOf.push(entry);
      }
    } else if (typeof v !== "boolean") entry.step = toNumber(v);
    steps.push(entry);
    if (moment) momentShapes.push({ param: entry.param, shape: moment.shape });
  }
  const values = await (scalar.many ? scalar.many(stepTensors) : Promise.all(stepTensors.map(scalar)));
  for (let i = 0; i < values.length; i++) stepOf[i]!.step = values[i];
  const first = groups[0];
  const group = isDict(first) ? first : undefined;
  let paramCount = 0;
  for (const g of groups) paramCount += isDict(g) ? (seqItems(g.get("params"))?.length ?? 0) : 0;
  return {
    state: "present",
    view: {
      ref,
      className: group ? guessOptimizer(group) : undefined,
      steps,
      stateCount: state.size,
      paramCount,
      lr: group ? await numberOf(group.get("lr"), scalar) : undefined,
      initialLr: group ? toNumber(group.get("initial_lr")) : undefined,
      hyper: group ? hyperParameters(group) : new Map(),
      momentShapes,
      moments,
    },
  };
}

/** The group's plain settings (not its param ids), rendered for comparison and display. */
function hyperParameters(g: PyDict): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of g.entries()) {
    if (typeof k !== "string" || k === "params") continue;
    const items = seqItems(v);
    const text = items ? `(${items.map((x) => scalarText(x)).join(", ")})` : scalarText(v);
    if (text !== undefined) out.set(k, text);
  }
  return out;
}

function scalarText(v: PyValue | undefined): string | undefined {
  if (v === null) return "None";
  if (typeof v === "boolean" || typeof v === "string" || typeof v === "number" || typeof v === "bigint") return String(v);
  if (v instanceof PyFloat) return formatNumber(v.value);
  return undefined;
}

function guessOptimizer(g: PyDict): string {
  if (g.has("betas")) return "Adam-family optimizer";
  if (g.has("momentum") && g.has("dampening")) return "SGD";
  return "optimizer";
}

/** An LR scheduler `state_dict()`: its __dict__ minus the optimizer. */
export function readScheduler(v: PyValue | undefined, ref: PartRef): Part<SchedulerView> {
  if (v === undefined) return { state: "missing", ref };
  if (!isDict(v)) return { state: "invalid", ref, reason: "it is not a dict" };
  const fields = new Map<string, PyValue>();
  for (const [k, x] of v.entries()) if (typeof k === "string") fields.set(k, x);
  if (!fields.has("last_epoch") && !fields.has("base_lrs")) return { state: "invalid", ref, reason: "it has neither 'last_epoch' nor 'base_lrs'" };
  const nums = (x: PyValue | undefined) => (seqItems(x) ?? []).map((y) => toNumber(y)).filter((y): y is number => y !== undefined);
  return {
    state: "present",
    view: {
      ref,
      kind: inferSchedulerKind(fields),
      lastEpoch: toNumber(fields.get("last_epoch")),
      stepCount: toNumber(fields.get("_step_count")),
      lastLr: nums(fields.get("_last_lr")),
      baseLrs: nums(fields.get("base_lrs")),
      fields,
    },
  };
}

/** `GradScaler.state_dict()`: {scale, growth_factor, backoff_factor, growth_interval, _growth_tracker}, or {} when disabled. */
export async function readScaler(v: PyValue | undefined, ref: PartRef, scalar: Scalar): Promise<Part<ScalerView>> {
  if (v === undefined) return { state: "missing", ref };
  if (!isDict(v)) return { state: "invalid", ref, reason: "not a dict" };
  const scale = v.get("scale");
  return {
    state: "present",
    view: {
      ref,
      empty: v.size === 0,
      scale: scale instanceof PyFloat || typeof scale === "number" ? toNumber(scale) : await numberOf(scale, scalar),
      growthTracker: await numberOf(v.get("_growth_tracker"), scalar),
    },
  };
}
