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
  /** `--allow-global module.name`: additions to the harmless tier. Cannot override the unsafe list. */
  allowGlobals?: string[];
}

export const TIER_RANK: Record<GlobalTier, number> = { allowed: 0, harmless: 1, unknown: 2, unsafe: 3 };

export function worseTier(a: GlobalTier, b: GlobalTier): GlobalTier {
  return TIER_RANK[a] >= TIER_RANK[b] ? a : b;
}

/** The tiers whose objects may be used freely (as getattr targets, partial functions, reconstructed classes). */
export function isTrustedTier(tier: GlobalTier): boolean {
  return tier === "allowed" || tier === "harmless";
}
