export type { GlobalTier, GlobalVerdict, SafetyOptions } from "./types.js";
export { TIER_RANK, worseTier, isTrustedTier } from "./types.js";
export { classifyGlobal, normaliseModule } from "./classify.js";
export { judgePickle, worstTier, type PickleReferences } from "./judge.js";
export { codeLikeReason } from "./codeStrings.js";
export { ALLOWED_GLOBALS } from "./allowed.js";
export { HARMLESS_GLOBALS, HARMLESS_PATTERNS } from "./harmless.js";
export { UNSAFE_PREFIXES } from "./unsafe.js";
