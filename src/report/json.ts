import { ReportSchema, type Report } from "../verify/schema.js";

/** One JSON object, checked against the schema before it leaves the tool. */
export function renderJson(report: Report): string {
  const checked = ReportSchema.parse(report);
  return JSON.stringify(checked, null, 2) + "\n";
}
