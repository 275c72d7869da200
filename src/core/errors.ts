/**
 * The one error type every format reader throws for bad input. It carries a
 * stable code (SCREAMING_SNAKE), the file-relative byte offset where the
 * problem was seen (when known) and a human sentence. Checks turn it into a
 * finding; nothing above the readers ever sees a raw RangeError or TypeError.
 */
export class FormatError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly offset?: number,
    /** Extra structured data for reporters (tensor name, rule, limit, ...). */
    readonly data: Record<string, unknown> = {},
  ) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
    this.name = "FormatError";
  }
}

export function isFormatError(e: unknown): e is FormatError {
  return e instanceof FormatError;
}

/** A thrown value as one line for a finding: a FormatError's own sentence, anything else with its type. */
export function errorMessage(e: unknown): string {
  if (isFormatError(e)) return e.message;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
