import { FormatError } from "../../core/errors.js";
import type { PicklePartial } from "./types.js";

/**
 * Every failure of the decoder, whatever the input. `partial` holds what was
 * recorded before the failure: a truncated or hostile pickle still shows the
 * globals and calls it reached, which is what a safety check needs most.
 */
export class PickleError extends FormatError {
  constructor(
    code: string,
    message: string,
    offset: number,
    public partial: PicklePartial = { globals: [], calls: [], builds: [] },
    data: Record<string, unknown> = {},
  ) {
    super(code, message, offset, data);
    this.name = "PickleError";
  }
}
