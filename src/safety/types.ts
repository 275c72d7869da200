/**
 * The safety tiers of contract.md "Globals found in pickles", in order of
 * severity: allowed (torch weights_only accepts it), harmless (info),
 * unknown (warning), unsafe (error).
 */
export type GlobalTier = "allowed" | "harmless" | "unknown" | "unsafe";

export interface GlobalVerdict {
  /** `module.name`, or for call analysis a rendering of the call: `builtins.getattr(posix, 'system')`. */
  qualname: string;
  module: string;
  name: string;
  tier: GlobalTier;
  reason: string;
  /** Byte offset (within the pickle) of the first occurrence. */
  offset: number;
  /** Occurrences: GLOBAL opcodes for a global, calls for a call verdict. */
  count: number;
}

export interface SafetyOptions {
  /** `--allow-global module.name`: additions to the harmless tier. They lift the default deny of the standard library and torch, never the unsafe list. */
  allowGlobals?: string[];
}

/**
 * How a known-harmless global may be used. Loading a class can rebuild an
 * instance without running `__init__` (NEWOBJ, `copyreg.__newobj__`,
 * `copyreg._reconstructor(cls, object, state)`, then BUILD sets its state) or
 * call it with arguments the file chooses (REDUCE, INST/OBJ with arguments,
 * `_reconstructor`'s base), which runs `__init__`.
 * - `any`: harmless whichever way (value types, enums, numpy's rebuild functions).
 * - `rebuild`: harmless when rebuilt or only referenced; a call is judged as
 *   if the name were not listed (torch modules, optimizers, dataclasses whose
 *   `__init__`/`__post_init__` does real work).
 * - `reference`: harmless only as a value stored in the object (an activation
 *   or loss function); any call is judged as if it were not listed.
 */
export type HarmlessUse = "any" | "rebuild" | "reference";

/** One known-harmless global. `reason` is shown in findings and docs/globals.md. */
export interface HarmlessEntry {
  qualname: string;
  reason: string;
  /** Default "any". */
  use?: HarmlessUse;
}

/** Known-harmless globals named by a pattern; `label` stands for them in docs/globals.md. */
export interface HarmlessPattern {
  pattern: RegExp;
  label: string;
  reason: string;
  use?: HarmlessUse;
}

export const TIER_RANK: Record<GlobalTier, number> = { allowed: 0, harmless: 1, unknown: 2, unsafe: 3 };

export function worseTier(a: GlobalTier, b: GlobalTier): GlobalTier {
  return TIER_RANK[a] >= TIER_RANK[b] ? a : b;
}

/** The tiers whose objects may be used freely (as getattr targets, partial functions, reconstructed classes). */
export function isTrustedTier(tier: GlobalTier): boolean {
  return tier === "allowed" || tier === "harmless";
}
