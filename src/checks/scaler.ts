import { defineCheck, findings, reporter } from "./define.js";
import { presentOr } from "./helpers/part.js";

const r = reporter("scaler");

export const scalerCheck = defineCheck({
  id: "scaler",
  title: "AMP gradient scaler",
  codes: ["SCALER_OK", "SCALER_STATE_MISSING", "SCALER_STATE_INVALID", "SCALER_STATE_EMPTY", "SCALER_SCALE_INVALID"],
  run({ checkpoint: c }) {
    const s = presentOr(r, c.scaler, "SCALER_STATE_MISSING", "SCALER_STATE_INVALID");
    if ("outcome" in s) return s.outcome;
    const v = s.view;
    if (v.empty) return findings(r.warn("SCALER_STATE_EMPTY", { where: v.ref.where }));
    if (v.scale === undefined || !Number.isFinite(v.scale) || v.scale <= 0) return findings(r.error("SCALER_SCALE_INVALID", { scale: v.scale }));
    return findings(r.pass("SCALER_OK", { scale: v.scale, tracker: v.growthTracker }));
  },
});
