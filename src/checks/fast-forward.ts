import { defineCheck, findings, reporter } from "./define.js";

const r = reporter("fast-forward");

export const fastForwardCheck = defineCheck({
  id: "fast-forward",
  title: "What the resume will do",
  codes: ["FAST_FORWARD"],
  run({ checkpoint: c }) {
    if (c.progress.state !== "present" || c.progress.view.stepsToSkip === undefined) return { skip: "no progress counters to fast-forward from" };
    const p = c.progress.view;
    const s = c.scheduler.state === "present" ? c.scheduler.view : undefined;
    const o = c.optimizer.state === "present" ? c.optimizer.view : undefined;
    const startLr = o?.initialLr ?? s?.baseLrs[0];
    const resumeLr = s?.lastLr[0] ?? o?.lr;
    return findings(r.info("FAST_FORWARD", { steps: p.stepsToSkip, formula: p.skipFormula, startLr, resumeLr }));
  },
});
