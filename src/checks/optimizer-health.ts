import type { IntegrityResult } from "../integrity/scan.js";
import type { NormalisedCheckpoint, OptimizerView } from "../layouts/types.js";
import { defineCheck, findings, reporter } from "./define.js";
import { optimizerSteps } from "./helpers/steps.js";

const r = reporter("optimizer-health");

const HALF = new Set(["float16", "bfloat16"]);
/** Adam's second moment, not AMSGrad's running maximum of it (max_exp_avg_sq). */
const SECOND_MOMENT = /(^|\.)exp_avg_sq$/;

/**
 * The optimizer state as the resumed steps will use it: moments stored in 16
 * bits (from the storage dtypes, no tensor bytes), parameters without state
 * while the others stepped, and with --deep an exp_avg_sq that is all zeros
 * while its exp_avg is not (NaN/Inf moments are the integrity check's).
 */
export const optimizerHealthCheck = defineCheck({
  id: "optimizer-health",
  title: "Optimizer state is healthy",
  codes: ["OPTIMIZER_HEALTH_OK", "OPTIMIZER_MOMENTS_LOW_PRECISION", "OPTIMIZER_STATE_PARTIAL", "OPTIMIZER_SECOND_MOMENT_ZERO"],
  run({ checkpoint: c, options }) {
    const deep = options.deep ? (c.integrity ?? []).flatMap(zeroSecondMoments) : [];
    if (c.optimizer.state !== "present") return deep.length > 0 ? findings(deep) : { skip: "no readable optimizer state" };
    const o = c.optimizer.view;
    const low = lowPrecision(o, c);
    const partial = partialState(o);
    const moments = o.moments ?? [];
    if (moments.length === 0 && deep.length === 0) return { skip: "the optimizer holds no per-parameter moment tensors" };
    const dtypes = [...new Set(moments.map((m) => m.dtype))].join(", ");
    const ok = !low && moments.length > 0 && r.pass("OPTIMIZER_HEALTH_OK", { moments: moments.length, dtypes, withState: o.stateCount, params: o.paramCount });
    return findings(ok, low, partial, deep);
  },
});

/** 16-bit moments are a warning when the weights are float32 (or unknown); a pure 16-bit run trained that way all along. */
function lowPrecision(o: OptimizerView, c: NormalisedCheckpoint) {
  const low = (o.moments ?? []).filter((m) => HALF.has(m.dtype));
  if (low.length === 0) return undefined;
  const weightDtypes = new Set((c.weights?.files ?? []).flatMap((f) => f.tensors.map((t) => t.dtype)).filter((d) => d.startsWith("float") || d === "bfloat16"));
  const allHalf = weightDtypes.size > 0 && [...weightDtypes].every((d) => HALF.has(d));
  const data = { count: low.length, dtypes: [...new Set(low.map((m) => m.dtype))].join(", "), example: `${low[0]!.param}.${low[0]!.key}`, weights: weightDtypes.size > 0 ? [...weightDtypes].join(", ") : "not readable" };
  return r.at(allHalf ? "info" : "warn")("OPTIMIZER_MOMENTS_LOW_PRECISION", data);
}

function partialState(o: OptimizerView) {
  const { steps } = optimizerSteps(o);
  if (o.stateCount >= o.paramCount || o.stateCount === 0 || !steps) return undefined;
  return r.info("OPTIMIZER_STATE_PARTIAL", { missing: o.paramCount - o.stateCount, params: o.paramCount, steps });
}

/** --deep: exp_avg_sq all zeros while the same parameter's exp_avg is not (both zero: a parameter that never had a gradient). */
function zeroSecondMoments(f: IntegrityResult) {
  const zero = new Set(f.allZero);
  return f.allZero
    .filter((t) => SECOND_MOMENT.test(t) && !zero.has(t.replace(/exp_avg_sq$/, "exp_avg")))
    .map((t) => r.error("OPTIMIZER_SECOND_MOMENT_ZERO", { file: f.rel, tensor: t, firstMoment: t.replace(/exp_avg_sq$/, "exp_avg") }, f.rel));
}
