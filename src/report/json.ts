import type { Report } from "../verify/schema.js";

/**
 * One JSON object in the shape of ReportSchema. It is not parsed against the schema on the way
 * out: that cost ~19 ms of cold zod code on every `--json` run (a sixth of a default run on a
 * 3 GB checkpoint); the tests parse the output of every fixture's run with ReportSchema instead
 * (docs/decisions.md).
 */
export function renderJson(report: Report): string {
  return JSON.stringify(report, null, 2) + "\n";
}
