import { defineCheck, findings, reporter } from "./define.js";

const r = reporter("metadata");

export const metadataCheck = defineCheck({
  id: "metadata",
  title: "Progress counters and metrics",
  codes: ["PROGRESS_CONSISTENT", "STEP_BEYOND_EPOCH", "STEP_AT_EPOCH_END", "METRIC_OUT_OF_RANGE", "METRICS_OK", "FOLDER_STEP_MISMATCH", "LOG_HISTORY_BEYOND", "LOOP_STEPS_MISMATCH", "LOGGED_VALUE_NOT_FINITE"],
  run({ checkpoint: c }) {
    if (c.progress.state !== "present") return { skip: c.progress.state === "unavailable" ? c.progress.reason : "no progress counters" };
    const p = c.progress.view;
    const { stepInEpoch: step, batchesPerEpoch: total, epoch } = p;
    const stepProblem =
      step !== undefined && total !== undefined
        ? step > total
          ? r.error("STEP_BEYOND_EPOCH", { step, totalBatches: total, epoch })
          : step === total
            ? r.warn("STEP_AT_EPOCH_END", { step, totalBatches: total, epoch, nextEpoch: (epoch ?? 0) + 1 })
            : undefined
        : undefined;
    const folder =
      p.folderStep !== undefined && p.globalStep !== undefined && p.folderStep !== p.globalStep
        ? r.warn("FOLDER_STEP_MISMATCH", { folderStep: p.folderStep, globalStep: p.globalStep, folder: p.folderName })
        : undefined;
    const log =
      p.logHistoryMaxStep !== undefined && p.globalStep !== undefined && p.logHistoryMaxStep > p.globalStep
        ? r.error("LOG_HISTORY_BEYOND", { logStep: p.logHistoryMaxStep, globalStep: p.globalStep })
        : undefined;
    const loops =
      p.loopOptimizerSteps !== undefined && p.globalStep !== undefined && p.loopOptimizerSteps !== p.globalStep
        ? r.warn("LOOP_STEPS_MISMATCH", { globalStep: p.globalStep, loopSteps: p.loopOptimizerSteps })
        : undefined;
    const badMetrics = p.metrics.filter((m) => !(m.value >= 0 && m.value <= 1));
    const metricFindings = badMetrics.map((m) => r.warn("METRIC_OUT_OF_RANGE", { key: m.key, value: m.value }));
    const ok = !stepProblem && !folder && !log && !loops;
    const diverged = (c.resume?.loggedNonFinite ?? []).map((v) => r.warn("LOGGED_VALUE_NOT_FINITE", { key: v.key, value: v.value, step: v.step, where: v.where }));
    return findings(
      ok && r.pass("PROGRESS_CONSISTENT", { progress: p.describe }),
      stepProblem,
      folder,
      log,
      loops,
      metricFindings,
      diverged,
      p.metrics.length > 0 && badMetrics.length === 0 && r.pass("METRICS_OK", { metrics: p.metrics.map((m) => `${m.key} ${m.value}`).join(", ") }),
    );
  },
});
