import * as z from "zod";
import { ReportSchema } from "../verify/schema.js";

/** The JSON report's schema as JSON Schema (zod 4's own export), for scripts in other languages: docs/report.schema.json. */
export function renderReportJsonSchema(): string {
  // "input" leaves objects open (no additionalProperties: false): new fields are additive; schemaVersion bumps on incompatible changes.
  const schema = z.toJSONSchema(ReportSchema, { target: "draft-2020-12", io: "input" });
  return JSON.stringify({ title: "verify-checkpoint report", ...schema }, null, 2) + "\n";
}
