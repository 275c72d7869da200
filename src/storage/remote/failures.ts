import type { FormatError } from "../../core/errors.js";

/**
 * Every remote read that failed in a run, by object. Some readers turn a
 * failed read into "no value" (a step counter that cannot be read, a file
 * that cannot be looked at); over a network that would let a throttled or
 * refused read pass as a missing file, so the run reads this log at the end
 * and fails with a finding for each object here.
 */
export class FailureLog {
  private readonly byObject = new Map<string, FormatError>();

  add(e: FormatError): FormatError {
    const object = String(e.data["object"] ?? "");
    if (!this.byObject.has(object)) this.byObject.set(object, e);
    return e;
  }

  /** The first failure, as it was thrown. */
  first(): FormatError | undefined {
    return this.byObject.values().next().value;
  }

  list(): { object: string; reason: string }[] {
    return [...this.byObject].map(([object, e]) => ({ object, reason: String(e.data["what"] ?? e.message) }));
  }
}
