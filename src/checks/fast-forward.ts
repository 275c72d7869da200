import { defineCheck, findings, reporter } from "./define.js";
import type { NormalisedCheckpoint } from "../layouts/types.js";
import { fieldNumber } from "../layouts/schedulers.js";

const r = reporter("fast-forward");

export const fastForwardCheck = defineCheck({
  id: "fast-forward",
  title: "What the resume will do",
  codes: ["FAST_FORWARD", "NOTHING_LEFT_TO_TRAIN", "SCHEDULER_PAST_END"],
  run({ checkpoint: c }) {
    const p = c.progress.state === "present" ? c.progress.view : undefined;
    const s = c.scheduler.state === "present" ? c.scheduler.view : undefined;
    const o = c.optimizer.state === "present" ? c.optimizer.view : undefined;
    const startLr = o?.initialLr ?? s?.baseLrs[0];
    const resumeLr = s?.lastLr[0] ?? o?.lr;
    const skip = p?.stepsToSkip !== undefined && r.info("FAST_FORWARD", { steps: p.stepsToSkip, formula: p.skipFormula, startLr, resumeLr });
    const out = [skip, nothingLeft(c), schedulerPastEnd(c)].filter((f) => f !== undefined && f !== false);
    if (out.length === 0) return { skip: "no progress counters to fast-forward from" };
    return findings(out);
  },
});

/** The configured end already reached: trainer.py's loop runs range(epochs_trained, num_train_epochs) and stops at max_steps. */
function nothingLeft(c: NormalisedCheckpoint) {
  const end = c.resume?.end;
  const gs = c.progress.state === "present" ? c.progress.view.globalStep : undefined;
  if (!end || gs === undefined) return undefined;
  if (end.maxSteps !== undefined && end.maxSteps > 0) {
    return gs >= end.maxSteps ? r.warn("NOTHING_LEFT_TO_TRAIN", { reason: `global_step ${gs} >= max_steps ${end.maxSteps} (${end.where})`, globalStep: gs, maxSteps: end.maxSteps }) : undefined;
  }
  if (end.numTrainEpochs !== undefined && end.numTrainEpochs > 0 && end.epoch !== undefined && end.epoch >= end.numTrainEpochs) {
    return r.warn("NOTHING_LEFT_TO_TRAIN", { reason: `epoch ${end.epoch} >= num_train_epochs ${end.numTrainEpochs} (${end.where})`, epoch: end.epoch, numTrainEpochs: end.numTrainEpochs });
  }
  return undefined;
}

/** OneCycleLR raises on a step beyond total_steps (torch/optim/lr_scheduler.py OneCycleLR.get_lr). */
function schedulerPastEnd(c: NormalisedCheckpoint) {
  if (c.scheduler.state !== "present" || c.scheduler.view.kind !== "OneCycleLR") return undefined;
  const s = c.scheduler.view;
  const total = fieldNumber(s)("total_steps");
  if (total === undefined || s.lastEpoch === undefined || s.lastEpoch < total) return undefined;
  return r.warn("SCHEDULER_PAST_END", { kind: s.kind, horizon: total, field: "total_steps", lastEpoch: s.lastEpoch });
}
