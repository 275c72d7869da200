export { verifyCheckpoint } from "./verify/verify.js";
export { DEFAULT_OPTIONS, type VerifyOptions } from "./checks/define.js";
export { ReportSchema, SCHEMA_VERSION, type Report, type CheckResult, type ReportFinding, type Facts } from "./report/schema.js";
export { renderText } from "./report/text.js";
export { renderJson } from "./report/json.js";
export { CODES, type Code } from "./findings/codes.js";
export { summarise, decideStatus, exitCodeFor } from "./verify/policy.js";
export { inspectFile } from "./inspect/inspect.js";
export { findLatest } from "./latest/latest.js";
