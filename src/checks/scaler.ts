import { defineCheck, findings, reporter } from "./define.js";

const r = reporter("scaler");

export const scalerCheck = defineCheck({
  id: "scaler",
  title: "AMP gradient scaler",
  run({ checkpoint: c }) {
    const s = c.scaler;
    if (s.state === "unavailable") return { skip: s.reason };
    if (s.state === "missing") return findings(r.at(s.ref.required ? "error" : "warn")("SCALER_STATE_MISSING", { where: s.ref.where }));
    if (s.state === "invalid") return findings(r.error("SCALER_SCALE_INVALID", { scale: s.reason }));
    const v = s.view;
    if (v.empty) return findings(r.warn("SCALER_STATE_EMPTY", { where: v.ref.where }));
    if (v.scale === undefined || !Number.isFinite(v.scale) || v.scale <= 0) return findings(r.error("SCALER_SCALE_INVALID", { scale: v.scale }));
    return findings(r.pass("SCALER_OK", { scale: v.scale, tracker: v.growthTracker }));
  },
});
