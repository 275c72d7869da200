import type * as Http from "node:http";
import type { ClientRequest, IncomingMessage } from "node:http";
import type * as Https from "node:https";
import { createRequire } from "node:module";
import type { FormatError } from "../../core/errors.js";
import type { ByteSource, DirEntry, EntryStat, Storage } from "../types.js";
import { readBody, streamRange } from "./body.js";
import { HTTP_ATTEMPTS, MAX_CONCURRENT_REQUESTS, MAX_CONCURRENT_STREAMS, MAX_REDIRECTS, timeoutMs } from "./config.js";
import { describeError, remoteError } from "./errors.js";
import { FailureLog } from "./failures.js";
import { backoffMs, requests, sleep } from "./limiter.js";
import { RemoteObject, type ObjectInfo, type ObjectTransport } from "./object.js";
import { isLoopback, redactUrl } from "./url.js";

/** The first request reads this much: it gives the size and ETag, and the bytes every reader asks for first. */
const FIRST_READ = 64 * 1024;
/** A server that ignores Range is accepted for files up to this size (read whole, once). */
const WHOLE_FILE_MAX = 16 * 1024 * 1024;
const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);

/** node:http and node:https (and TLS under it) are loaded on the first URL only: local runs never pay for them. */
let net: { http: typeof Http; https: typeof Https; httpAgent: Http.Agent; httpsAgent: Https.Agent } | undefined;
function lib(): NonNullable<typeof net> {
  if (!net) {
    const require = createRequire(import.meta.url);
    const http = require("node:http") as typeof Http;
    const https = require("node:https") as typeof Https;
    const options = { keepAlive: true, maxSockets: MAX_CONCURRENT_REQUESTS + MAX_CONCURRENT_STREAMS };
    net = { http, https, httpAgent: new http.Agent(options), httpsAgent: new https.Agent(options) };
  }
  return net;
}

/**
 * One file served over http(s) with range support (a CDN, a Hugging Face
 * resolve URL, a presigned S3 URL). It is the only entry of its storage;
 * messages show its URL without the query string.
 */
export class HttpStorage implements Storage {
  readonly remote = true;
  readonly root: string;
  readonly rel: string;

  private constructor(
    private readonly url: URL,
    private readonly object: RemoteObject | undefined,
    readonly failures: FailureLog,
  ) {
    this.rel = decodeURIComponent(url.pathname.slice(url.pathname.lastIndexOf("/") + 1)) || "file";
    this.root = redactUrl(new URL(".", url));
  }

  /** Looks at the file with one ranged GET; undefined object when the server says it does not exist. */
  static async locate(url: URL): Promise<HttpStorage> {
    const timeout = timeoutMs();
    const name = redactUrl(url);
    const failures = new FailureLog();
    try {
      const first = await firstRead(url, timeout, name, (e) => failures.add(e));
      return new HttpStorage(url, first, failures);
    } catch (e) {
      throw describeError(e, name, undefined, timeout);
    }
  }

  display(rel: string): string {
    return rel === this.rel ? redactUrl(this.url) : `${this.root}${rel}`;
  }

  async stat(rel: string): Promise<EntryStat | undefined> {
    if (rel !== this.rel || !this.object) return undefined;
    return { kind: "file", size: this.object.info.size, mtimeMs: this.object.info.mtimeMs };
  }

  async list(): Promise<DirEntry[]> {
    return [];
  }

  async open(rel: string): Promise<ByteSource> {
    if (rel !== this.rel || !this.object) throw remoteError("NOT_FOUND", this.display(rel), "not found");
    return this.object.open();
  }
}

/** GET bytes 0..64 KiB: the file's size, ETag and first bytes, or undefined when it does not exist. */
async function firstRead(url: URL, timeout: number, name: string, onFailure: (e: FormatError) => void): Promise<RemoteObject | undefined> {
  const { res, at } = await send(url, { Range: `bytes=0-${FIRST_READ - 1}` }, timeout, name);
  const etag = strongEtag(res.headers.etag);
  const lastModified = res.headers["last-modified"];
  const mtimeMs = lastModified ? Date.parse(lastModified) || 0 : 0;
  if (res.statusCode === 404 || res.statusCode === 410) {
    res.destroy();
    return undefined;
  }
  let size: number;
  let bytes: Buffer;
  if (res.statusCode === 206) {
    size = totalOf(res.headers["content-range"]) ?? -1;
    if (size < 0) throw remoteError("FAILED", name, "the server answered a range request without the file's size (Content-Range)");
    bytes = await readBody(res, Math.min(FIRST_READ, size), timeout, name);
  } else if (res.statusCode === 416) {
    res.destroy();
    size = totalOf(res.headers["content-range"]) ?? 0;
    bytes = Buffer.alloc(0);
  } else if (res.statusCode === 200) {
    const length = Number(res.headers["content-length"] ?? NaN);
    if (!(length <= WHOLE_FILE_MAX)) {
      res.destroy();
      throw remoteError("NO_RANGES", name, "the server does not answer range requests, and the file is too large to download for a metadata check");
    }
    size = length;
    bytes = await readBody(res, length, timeout, name);
  } else {
    res.destroy();
    throw statusError(res.statusCode ?? 0, name);
  }
  const info: ObjectInfo = { name, size, ...(etag ? { etag } : {}), mtimeMs };
  const object = new RemoteObject(info, httpTransport(at, info, lastModified, timeout, onFailure));
  object.cache.hold(0, bytes);
  return object;
}

function httpTransport(url: URL, info: ObjectInfo, lastModified: string | undefined, timeout: number, onFailure: (e: FormatError) => void): ObjectTransport {
  // Weak ETags never match If-Match; Last-Modified is the next best pin.
  const pin: Record<string, string> = info.etag ? { "If-Match": info.etag } : lastModified ? { "If-Unmodified-Since": lastModified } : {};
  const get = async (start: number, end: number) => {
    const { res } = await send(url, { Range: `bytes=${start}-${end - 1}`, ...pin }, timeout, info.name);
    if (res.statusCode !== 206) {
      res.destroy();
      if (res.statusCode === 412 || res.statusCode === 200) throw remoteError("CHANGED", info.name, `the file changed while it was read (HTTP ${res.statusCode} to a pinned range request)`);
      throw statusError(res.statusCode ?? 0, info.name);
    }
    const total = totalOf(res.headers["content-range"]);
    const etag = strongEtag(res.headers.etag);
    if (total !== info.size || (info.etag && etag && etag !== info.etag)) {
      res.destroy();
      throw remoteError("CHANGED", info.name, "the file changed while it was read (its size or ETag differs)");
    }
    return res;
  };
  return {
    get: (start, end) =>
      requests.run(async () => readBody(await get(start, end), end - start, timeout, info.name)).catch((e) => {
        const err = describeError(e, info.name, undefined, timeout);
        onFailure(err);
        throw err;
      }),
    stream: (start, end) => streamRange(get, start, end, timeout, info.name),
  };
}

/**
 * One request with retries (throttling, 5xx, a reset connection, a timeout;
 * Retry-After honoured up to 10 s) and redirects (at most MAX_REDIRECTS; to
 * plain http only on loopback). Returns the response and the URL that gave it.
 */
async function send(url: URL, headers: Record<string, string>, timeout: number, name: string): Promise<{ res: IncomingMessage; at: URL }> {
  let at = url;
  for (let attempt = 1, redirects = 0; ; ) {
    let res: IncomingMessage;
    try {
      res = await once(at, headers, timeout, name);
    } catch (e) {
      const err = describeError(e, name, at.host, timeout);
      if (attempt >= HTTP_ATTEMPTS || !(err.code === "REMOTE_TIMEOUT" || err.code === "REMOTE_UNREACHABLE")) throw attempt > 1 ? remoteError(err.data["failure"] as "TIMEOUT", name, `${err.data["what"]} (after ${attempt} attempts)`) : err;
      await sleep(backoffMs(attempt++));
      continue;
    }
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.destroy();
      if (++redirects > MAX_REDIRECTS) throw remoteError("FAILED", name, `more than ${MAX_REDIRECTS} redirects`);
      const next = new URL(res.headers.location, at);
      if (next.protocol !== "https:" && !(next.protocol === "http:" && isLoopback(next.hostname))) throw remoteError("FAILED", name, "redirected to a plain http:// or non-http URL, which is refused");
      at = next;
      continue;
    }
    if (RETRY_STATUS.has(status) && attempt < HTTP_ATTEMPTS) {
      res.destroy();
      const retryAfter = Number(res.headers["retry-after"]);
      await sleep(Number.isFinite(retryAfter) && retryAfter >= 0 ? Math.min(retryAfter, 10) * 1000 : backoffMs(attempt));
      attempt++;
      continue;
    }
    if (RETRY_STATUS.has(status)) {
      res.destroy();
      throw statusError(status, name, attempt);
    }
    return { res, at };
  }
}

function once(url: URL, headers: Record<string, string>, timeout: number, name: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const { http, https, httpAgent, httpsAgent } = lib();
    const secure = url.protocol === "https:";
    const req: ClientRequest = secure ? https.request(url, { method: "GET", headers, agent: httpsAgent }) : http.request(url, { method: "GET", headers, agent: httpAgent });
    // Idle on the socket (connecting, waiting for the response): abandon it.
    req.setTimeout(timeout, () => req.destroy(remoteError("TIMEOUT", name, `no response for ${timeout / 1000} s`)));
    req.on("response", (res) => {
      req.setTimeout(0);
      resolve(res);
    });
    req.on("error", reject);
    req.end();
  });
}

function statusError(status: number, name: string, attempts = 1): Error {
  const after = attempts > 1 ? ` after ${attempts} attempts` : "";
  if (status === 404 || status === 410) return remoteError("NOT_FOUND", name, "not found");
  if (status === 401 || status === 403) return remoteError("DENIED", name, `access denied (HTTP ${status}): the URL needs credentials, or a signed URL expired`);
  if (status === 429 || status === 503) return remoteError("THROTTLED", name, `the server throttled the reads (HTTP ${status})${after}`);
  return remoteError("FAILED", name, `the server answered HTTP ${status}${after}`);
}

function totalOf(contentRange: string | undefined): number | undefined {
  const m = /^bytes (?:\d+-\d+|\*)\/(\d+)$/.exec(contentRange ?? "");
  return m ? Number(m[1]) : undefined;
}

function strongEtag(etag: string | undefined): string | undefined {
  return etag && !etag.startsWith("W/") ? etag : undefined;
}
