import type { Code } from "../findings/codes.js";
import type { Finding, Level } from "../findings/finding.js";
import type { NormalisedCheckpoint } from "../layouts/types.js";
import type { VerifyOptions } from "../core/options.js";

/** What a check sees: the options and the normalised checkpoint. It never sees process, stdout or colours. */
export interface CheckContext {
  path: string;
  options: VerifyOptions;
  checkpoint: NormalisedCheckpoint;
}

/** What a check returns: findings, or a reason why it could not run. */
export type CheckOutcome = { findings: Finding[] } | { skip: string };

export interface Check {
  id: string;
  title: string;
  /** Every code this check can report, documented under it in docs/codes.md and `explain`. */
  codes: readonly Code[];
  /** Codes another check documents that this one reports too (the same file problem seen from another side). */
  alsoReports?: readonly Code[];
  run(ctx: CheckContext): CheckOutcome | Promise<CheckOutcome>;
}

/** Exists for type inference only, as arethetypeswrong's defineCheck does. */
export function defineCheck(check: Check): Check {
  return check;
}

/** A finding builder bound to one check id, so checks stay one-liners. */
export function reporter(check: string) {
  const make =
    (level: Level) =>
    (code: Code, data: Record<string, unknown> = {}, file?: string): Finding =>
      file === undefined ? { check, level, code, data } : { check, level, code, data, file };
  return { pass: make("pass"), warn: make("warn"), error: make("error"), info: make("info"), at: (level: Level) => make(level) };
}

export function findings(...list: (Finding | Finding[] | undefined | false)[]): CheckOutcome {
  return { findings: list.flat().filter((f): f is Finding => Boolean(f)) };
}
