/**
 * Limits of remote reads. The timeout can be set per run with
 * VERIFY_CHECKPOINT_TIMEOUT (seconds); retries of S3 requests follow the SDK's
 * own AWS_MAX_ATTEMPTS / AWS_RETRY_MODE.
 */

/** Requests in flight at once, over every object of a run: enough to hide latency, few enough not to be throttled. */
export const MAX_CONCURRENT_REQUESTS = 16;
/** --deep streams in flight at once (each is one long range GET). */
export const MAX_CONCURRENT_STREAMS = 4;
/** Attempts of an http(s) request that failed in a way worth retrying (throttled, 5xx, reset, timed out). */
export const HTTP_ATTEMPTS = 4;
/** S3 attempts when AWS_MAX_ATTEMPTS is not set (the SDK's own default is 3). */
export const S3_ATTEMPTS = 5;
/** Entries of one listed folder: more is not a checkpoint folder and would take unbounded requests. */
export const MAX_LIST_ENTRIES = 100_000;
/** Redirects followed by an http(s) request (Hugging Face and CDNs redirect once or twice). */
export const MAX_REDIRECTS = 5;

const DEFAULT_TIMEOUT_S = 30;

/**
 * Milliseconds without progress (no connection, no response, no new bytes)
 * before a request is abandoned: a stalled server must end in a finding, never a hang.
 */
export function timeoutMs(env: Record<string, string | undefined> = process.env): number {
  const raw = env["VERIFY_CHECKPOINT_TIMEOUT"];
  const s = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(s) && s > 0 ? Math.round(s * 1000) : DEFAULT_TIMEOUT_S * 1000;
}
