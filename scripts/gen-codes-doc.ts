/**
 * Writes docs/codes.md from the CODES table (`npm run docs:codes`). The page
 * is committed so people can read it on GitHub; test/cli/codes-doc.test.ts
 * fails when it is stale.
 */
import { writeFileSync } from "node:fs";
import { renderCodesDoc } from "../src/report/codes-doc.js";

const target = new URL("../../docs/codes.md", import.meta.url);
writeFileSync(target, renderCodesDoc());
process.stdout.write(`wrote ${target.pathname}\n`);
