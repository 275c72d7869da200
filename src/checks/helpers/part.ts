import type { Code } from "../../findings/codes.js";
import type { Part } from "../../layouts/types.js";
import { findings, type CheckOutcome, type reporter } from "../define.js";

/**
 * The shared head of the optimizer, scheduler and scaler checks: a part that
 * is unavailable skips the check, a missing one is an error when the layout
 * requires it (a warning otherwise), an invalid one is an error. Returns the
 * view when the part is present.
 */
export function presentOr<T>(r: ReturnType<typeof reporter>, part: Part<T>, missing: Code, invalid: Code): { view: T } | { outcome: CheckOutcome } {
  switch (part.state) {
    case "present":
      return { view: part.view };
    case "unavailable":
      return { outcome: { skip: part.reason } };
    case "missing":
      return { outcome: findings(r.at(part.ref.required ? "error" : "warn")(missing, { where: part.ref.where })) };
    case "invalid":
      return { outcome: findings(r.error(invalid, { where: part.ref.where, reason: part.reason })) };
  }
}
