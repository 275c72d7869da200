import { FormatError } from "../../core/errors.js";

/**
 * Every failure of a remote read becomes a FormatError whose message names
 * the object and says what happened, in words a person can act on. Messages
 * are built from status codes and error names only: an SDK error also holds
 * the string it signed and the access key id, and a URL may hold a
 * signature, so neither is ever copied into a message.
 */
export type RemoteFailure = "NOT_FOUND" | "DENIED" | "UNREACHABLE" | "TIMEOUT" | "THROTTLED" | "CHANGED" | "NO_RANGES" | "NO_CREDENTIALS" | "FAILED";

export function remoteError(kind: RemoteFailure, object: string, what: string): FormatError {
  return new FormatError(`REMOTE_${kind}`, `${object}: ${what}`, undefined, { object, what, failure: kind });
}

export function isRemoteError(e: unknown): e is FormatError {
  return e instanceof FormatError && e.code.startsWith("REMOTE_");
}

const THROTTLING = new Set(["SlowDown", "Throttling", "ThrottlingException", "TooManyRequests", "TooManyRequestsException", "RequestLimitExceeded", "ServiceUnavailable"]);
const DENIED = new Set(["AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "AllAccessDisabled", "AccountProblem"]);
const NETWORK: Record<string, string> = {
  ECONNREFUSED: "the connection was refused",
  ECONNRESET: "the connection was reset",
  ENOTFOUND: "the host name does not resolve",
  EAI_AGAIN: "the host name could not be resolved",
  EHOSTUNREACH: "the host is unreachable",
  ENETUNREACH: "the network is unreachable",
  EPIPE: "the connection was closed",
  ETIMEDOUT: "the connection timed out",
};

/** Any error thrown by the SDK or by node:http(s), as a remote FormatError about `object`. */
export function describeError(e: unknown, object: string, endpoint: string | undefined, timeout: number): FormatError {
  if (isRemoteError(e)) return e;
  const err = e as { name?: string; code?: string; Code?: string; $metadata?: { httpStatusCode?: number; attempts?: number }; cause?: unknown };
  const name = err?.Code ?? err?.name ?? "Error";
  const status = err?.$metadata?.httpStatusCode;
  const attempts = err?.$metadata?.attempts;
  const after = attempts && attempts > 1 ? ` after ${attempts} attempts` : "";
  // A response without a body (HEAD) has no error code: the SDK calls it "Unknown" or repeats the status.
  const named = !/^(Unknown(Error)?|\d+)$/.test(name);
  const http = status ? `HTTP ${status}${named ? ` ${name}` : ""}` : name;
  const net = networkCode(e);
  if (net) return remoteError(net === "ETIMEDOUT" ? "TIMEOUT" : "UNREACHABLE", object, `${NETWORK[net]}${endpoint ? ` (${endpoint})` : ""}${after}`);
  if (name === "CredentialsProviderError" || /credential/i.test(name)) {
    return remoteError("NO_CREDENTIALS", object, "no AWS credentials were found (environment, shared config and credentials files, SSO, web identity, container or instance role)");
  }
  if (name === "TimeoutError" || name === "RequestTimeout" || name === "AbortError") return remoteError("TIMEOUT", object, `no progress for ${timeout / 1000} s${after}`);
  if (status === 412 || name === "PreconditionFailed") return remoteError("CHANGED", object, "the object changed while it was read (its ETag no longer matches)");
  if (name === "NoSuchBucket") return remoteError("NOT_FOUND", object, "the bucket does not exist");
  if (status === 404 || name === "NoSuchKey" || name === "NotFound") return remoteError("NOT_FOUND", object, "not found");
  if (status === 401 || status === 403 || DENIED.has(name)) return remoteError("DENIED", object, `access denied (${http}): check the credentials and the bucket's policy`);
  if (status === 429 || status === 503 || THROTTLING.has(name)) return remoteError("THROTTLED", object, `the server throttled the reads (${http})${after}`);
  return remoteError("FAILED", object, `the read failed (${http})${after}`);
}

function networkCode(e: unknown): string | undefined {
  for (let x = e as { code?: unknown; cause?: unknown } | undefined, depth = 0; x && depth < 4; x = x.cause as typeof x, depth++) {
    if (typeof x.code === "string" && x.code in NETWORK) return x.code;
  }
  return undefined;
}
