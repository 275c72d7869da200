/**
 * Writes the generated docs (`npm run docs:codes`): docs/codes.md from the
 * CODES table and docs/report.schema.json from the zod report schema. Both
 * are committed so people can read them; test/cli/codes-doc.test.ts fails
 * when either is stale.
 */
import { writeFileSync } from "node:fs";
import { renderCodesDoc } from "../src/report/codes-doc.js";
import { renderReportJsonSchema } from "../src/report/json-schema.js";

for (const [file, text] of [
  ["codes.md", renderCodesDoc()],
  ["report.schema.json", renderReportJsonSchema()],
] as const) {
  const target = new URL(`../../docs/${file}`, import.meta.url);
  writeFileSync(target, text);
  process.stdout.write(`wrote ${target.pathname}\n`);
}
