import { CODES, type Code } from "./codes.js";

export type Level = "pass" | "warn" | "error" | "info";

/**
 * A finding is data: which check, how bad, a stable code, the numbers behind
 * it and the file it is about. Words come from the code's template
 * (renderMessage), so text, JSON and CI reporters all say the same thing.
 */
export interface Finding {
  check: string;
  level: Level;
  code: Code;
  data: Record<string, unknown>;
  file?: string;
}

/** Renders `{name}` placeholders of the code's template from the finding's data. */
export function renderMessage(f: Pick<Finding, "code" | "data">): string {
  const template = CODES[f.code].message;
  return template.replace(/\{(\w+)\}/g, (_, key: string) => formatValue(f.data[key]));
}

export function formatValue(v: unknown): string {
  if (v === undefined || v === null) return "none";
  if (typeof v === "number") return formatNumber(v);
  if (typeof v === "bigint") return v.toString();
  if (Array.isArray(v)) return v.map(formatValue).join(", ");
  return String(v);
}

/** Short, exact-enough numbers: integers as is, learning rates in scientific notation. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? "NaN" : n > 0 ? "inf" : "-inf";
  if (Number.isInteger(n)) return String(n);
  const a = Math.abs(n);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return n.toExponential(3).replace(/\.?0+e/, "e");
  return String(Number(n.toPrecision(6)));
}
