import { defineCheck, findings, reporter } from "./define.js";
import { presentOr } from "./helpers/part.js";
import { accumulationHint, optimizerSteps } from "./helpers/steps.js";

const r = reporter("optimizer");

export const optimizerCheck = defineCheck({
  id: "optimizer",
  title: "Optimizer step count",
  codes: ["OPTIMIZER_STEPS_OK", "OPTIMIZER_STEP_MISMATCH", "OPTIMIZER_STEP_RATIO", "OPTIMIZER_NO_STEP", "OPTIMIZER_STEPS_DISAGREE", "OPTIMIZER_STATE_MISSING", "OPTIMIZER_STATE_INVALID", "NO_EXPECTED_STEPS"],
  run({ checkpoint: c, options }) {
    const o = presentOr(r, c.optimizer, "OPTIMIZER_STATE_MISSING", "OPTIMIZER_STATE_INVALID");
    if ("outcome" in o) return o.outcome;
    const { steps, disagree, withoutStep } = optimizerSteps(o.view);
    if (steps === undefined) {
      const detail = o.view.stateCount === 0 ? `${o.view.className ?? "optimizer"} with no per-parameter state` : `${withoutStep} parameter state(s) without 'step'`;
      return findings(r.warn("OPTIMIZER_NO_STEP", { detail }));
    }
    const disagreeFinding =
      disagree.length > 0 &&
      r.warn("OPTIMIZER_STEPS_DISAGREE", {
        detail: `${o.view.steps.length - disagree.length - withoutStep} at ${steps}, ${disagree.length} differ (e.g. param ${disagree[0]!.param} at ${disagree[0]!.step})`,
      });
    const p = c.progress.state === "present" ? c.progress.view : undefined;
    const expected = p?.expectedOptimizerSteps;
    if (expected === undefined) return findings(disagreeFinding, r.info("NO_EXPECTED_STEPS", { optimizerSteps: steps }));
    const diff = Math.abs(expected - steps);
    const data = { optimizerSteps: steps, expected, formula: p?.formula ?? "", diff, tolerance: options.tolerance };
    if (diff <= options.tolerance) return findings(disagreeFinding, r.pass("OPTIMIZER_STEPS_OK", data));
    const hint = p && !p.gradAccumRecorded && options.gradientAccumulationSteps === undefined ? accumulationHint(expected, steps, options.tolerance) : undefined;
    return findings(disagreeFinding, r.warn("OPTIMIZER_STEP_MISMATCH", data), hint && r.info("OPTIMIZER_STEP_RATIO", hint));
  },
});
