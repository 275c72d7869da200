import type { CodeDoc } from "./code-doc.js";

/** Checkpoints in object storage or behind an https:// URL: reads that failed. */
export const REMOTE_CODES = {
  REMOTE_READ_FAILED: {
    message: "{object} could not be read: {reason}",
    why: "Part of the checkpoint was never looked at, so nothing can be said about it; a reader that shrugged off the failed read could otherwise pass a checkpoint it did not see.",
    fix: "Check the credentials, the bucket policy and the endpoint; for throttling or time-outs run again (AWS_MAX_ATTEMPTS, VERIFY_CHECKPOINT_TIMEOUT). The checkpoint itself may be fine.",
  },
} as const satisfies Record<string, CodeDoc>;
