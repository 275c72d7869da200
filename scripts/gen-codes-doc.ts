/**
 * Writes the generated docs (`npm run docs:codes`): docs/codes.md from the
 * CODES table, docs/report.schema.json from the zod report schema, and the
 * lists in docs/globals.md from src/safety. All are committed so people can
 * read them; test/cli/codes-doc.test.ts fails when one is stale.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { renderCodesDoc } from "../src/report/codes-doc.js";
import { updateGlobalsDoc } from "../src/report/globals-doc.js";
import { renderReportJsonSchema } from "../src/report/json-schema.js";

const globalsPage = new URL("../../docs/globals.md", import.meta.url);

for (const [file, text] of [
  ["codes.md", renderCodesDoc()],
  ["report.schema.json", renderReportJsonSchema()],
  ["globals.md", updateGlobalsDoc(readFileSync(globalsPage, "utf8"))],
] as const) {
  const target = new URL(`../../docs/${file}`, import.meta.url);
  writeFileSync(target, text);
  process.stdout.write(`wrote ${target.pathname}\n`);
}
