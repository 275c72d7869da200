import { formatNumber } from "../findings/finding.js";
import { defineCheck, findings, reporter } from "./define.js";
import { SCHEDULER_KINDS, closeEnough, fieldNumber, recomputeLrs } from "../layouts/schedulers.js";
import { presentOr } from "./helpers/part.js";
import { optimizerSteps } from "./helpers/steps.js";

const r = reporter("scheduler");

export const schedulerCheck = defineCheck({
  id: "scheduler",
  title: "LR scheduler and resume learning rate",
  codes: ["SCHEDULER_STATE_MISSING", "SCHEDULER_STATE_INVALID", "SCHEDULER_STEPS_OK", "SCHEDULER_EPOCHS_OK", "SCHEDULER_STEP_MISMATCH", "LR_AGREES", "LR_MISMATCH", "LR_TOO_SMALL", "LR_ABOVE_BASE", "LR_FORMULA_OK", "LR_FORMULA_MISMATCH"],
  run({ checkpoint: c, options }) {
    const s = presentOr(r, c.scheduler, "SCHEDULER_STATE_MISSING", "SCHEDULER_STATE_INVALID");
    if ("outcome" in s) return s.outcome;
    const v = s.view;
    const o = c.optimizer.state === "present" ? c.optimizer.view : undefined;
    const optSteps = o ? optimizerSteps(o).steps : undefined;
    const expected = c.progress.state === "present" ? c.progress.view.expectedOptimizerSteps : undefined;
    const p = c.progress.state === "present" ? c.progress.view : undefined;
    const per = p?.schedulerStepsPerOptimizerStep;
    const [against, unscaled] = optSteps !== undefined ? ["optimizer steps", optSteps] : ["expected steps", expected];
    const steps = per && unscaled !== undefined ? unscaled * per.factor : unscaled;
    const againstText = per ? `${against} ${unscaled} x ${per.factor} (${per.why}) =` : against;
    const perEpoch = p?.schedulerMayStepPerEpoch && p.epoch !== undefined && v.lastEpoch !== undefined && Math.abs(v.lastEpoch - p.epoch) <= 1;
    const stepFinding = perEpoch
      ? r.pass("SCHEDULER_EPOCHS_OK", { lastEpoch: v.lastEpoch, epoch: p.epoch })
      : v.lastEpoch !== undefined && steps !== undefined
        ? (() => {
            const diff = Math.abs(v.lastEpoch - steps);
            const data = { lastEpoch: v.lastEpoch, against: againstText, steps, diff, tolerance: options.tolerance };
            return diff <= options.tolerance ? r.pass("SCHEDULER_STEPS_OK", data) : r.warn("SCHEDULER_STEP_MISMATCH", data);
          })()
        : undefined;
    const lastLr = v.lastLr[0];
    const lr = o?.lr ?? lastLr;
    const lrFindings = [];
    if (lr !== undefined && lastLr !== undefined && o?.lr !== undefined) {
      lrFindings.push(closeEnough(o.lr, lastLr) ? r.pass("LR_AGREES", { lr: o.lr }) : r.warn("LR_MISMATCH", { lr: o.lr, lastLr }));
    }
    if (lr !== undefined && lr < 1e-8) lrFindings.push(r.warn("LR_TOO_SMALL", { lr }));
    const kind = v.kind ? SCHEDULER_KINDS[v.kind] : undefined;
    const base = v.baseLrs[0];
    if (lr !== undefined && base !== undefined && kind?.neverAboveBase(fieldNumber(v)) && lr > base * (1 + 1e-6)) {
      lrFindings.push(r.warn("LR_ABOVE_BASE", { lr, baseLr: base, kind: v.kind }));
    }
    const computed = recomputeLrs(v);
    if (computed && v.lastLr.length === computed.length) {
      const bad = computed.findIndex((x, i) => !closeEnough(x, v.lastLr[i]!));
      const data = { kind: v.kind, lastEpoch: v.lastEpoch, computed: formatNumber(computed[Math.max(bad, 0)]!), lastLr: v.lastLr[Math.max(bad, 0)] };
      lrFindings.push(bad === -1 ? r.pass("LR_FORMULA_OK", data) : r.warn("LR_FORMULA_MISMATCH", data));
    }
    return findings(stepFinding, lrFindings);
  },
});
