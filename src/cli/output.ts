import { appendFileSync, writeFileSync } from "node:fs";
import { renderGithub, renderGithubSummary } from "../report/github.js";
import { renderJson } from "../report/json.js";
import { renderJunit } from "../report/junit.js";
import type { Report } from "../verify/schema.js";
import { renderText } from "../report/text.js";

export const FORMATS = ["text", "json", "junit", "github"] as const;
export type Format = (typeof FORMATS)[number];

export interface OutputOptions {
  format: Format;
  /** --output FILE */
  output?: string;
  quiet: boolean;
  colorLevel: 0 | 1 | 2 | 3;
  stdout: (s: string) => void;
  /** Where the GitHub step summary goes; the CLI passes $GITHUB_STEP_SUMMARY. */
  stepSummary?: string;
}

/**
 * Where each rendering goes:
 * - without --output, stdout gets the report in --format;
 * - with --output FILE, FILE gets the report in --format (text without
 *   colour) and stdout gets the text report, so a CI log stays readable
 *   while the machine-readable file is collected as an artifact;
 * - with --format github and $GITHUB_STEP_SUMMARY set, the Markdown summary
 *   is appended to that file (appended, because every step of a job shares it).
 * Files are written before stdout so a failing write (exit 1, see main.ts)
 * does not leave a half-reported run.
 */
export function writeReport(report: Report, o: OutputOptions): void {
  const text = (colorLevel: OutputOptions["colorLevel"]) => renderText(report, { colorLevel, quiet: o.quiet });
  if (o.output !== undefined) writeFileSync(o.output, o.format === "text" ? text(0) : render(report, o.format));
  if (o.format === "github" && o.stepSummary) appendFileSync(o.stepSummary, renderGithubSummary(report));
  o.stdout(o.output !== undefined || o.format === "text" ? text(o.colorLevel) : render(report, o.format));
}

/** The machine formats; text needs its options, so it is rendered by writeReport. */
export function render(report: Report, format: Exclude<Format, "text">): string {
  switch (format) {
    case "json":
      return renderJson(report);
    case "junit":
      return renderJunit(report);
    case "github":
      return renderGithub(report);
  }
}
