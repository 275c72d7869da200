import { createRequire } from "node:module";
import type { Readable } from "node:stream";
import type * as S3 from "@aws-sdk/client-s3";
import { FormatError } from "../../core/errors.js";
import { readBody, streamRange } from "./body.js";
import { MAX_CONCURRENT_REQUESTS, MAX_CONCURRENT_STREAMS, S3_ATTEMPTS, timeoutMs } from "./config.js";
import { describeError, remoteError } from "./errors.js";
import { requests } from "./limiter.js";
import type { ObjectInfo, ObjectTransport } from "./object.js";

/**
 * The AWS SDK for JavaScript v3, loaded on the first remote path only: a
 * local run never pays for it. `require` through createRequire, because the
 * bundled CLI runs as a vm.Script, which has no loader for import(), and the
 * SDK stays outside the bundle (scripts/bundle.mjs marks it external).
 */
function sdk(): typeof S3 {
  // The SDK warns on every run under Node 20 about its own future releases; our engines floor is 20 and the version is pinned.
  process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] ??= "true";
  try {
    return createRequire(import.meta.url)("@aws-sdk/client-s3") as typeof S3;
  } catch (e) {
    throw new FormatError("REMOTE_NO_SDK", `s3:// paths need the AWS SDK (@aws-sdk/client-s3), which could not be loaded: ${(e as Error).message.split("\n")[0]}`);
  }
}

let shared: Promise<S3Client> | undefined;

/** One client per process: credentials are resolved once, connections are reused across checkpoints (`latest`). */
export function s3Client(): Promise<S3Client> {
  shared ??= makeClient();
  return shared;
}

export interface S3Client {
  sdk: typeof S3;
  client: S3.S3Client;
  /** The endpoint when one is configured, for messages (never credentials). */
  endpoint?: string;
  timeout: number;
}

async function makeClient(): Promise<S3Client> {
  const lib = sdk();
  const env = process.env;
  const endpoint = env["AWS_ENDPOINT_URL_S3"] || env["AWS_ENDPOINT_URL"] || undefined;
  const timeout = timeoutMs();
  const agent = { keepAlive: true, maxSockets: MAX_CONCURRENT_REQUESTS + MAX_CONCURRENT_STREAMS };
  const config: S3.S3ClientConfig = {
    // Another S3-API server (MinIO, Ceph, R2, GCS interoperability) is addressed by path: its buckets have no DNS names.
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    ...(env["AWS_MAX_ATTEMPTS"] ? {} : { maxAttempts: S3_ATTEMPTS }),
    followRegionRedirects: true,
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: { connectionTimeout: timeout, socketTimeout: timeout, httpAgent: agent, httpsAgent: agent },
  };
  let client = new lib.S3Client(config);
  try {
    await client.config.region();
  } catch {
    // No region in the environment or the profile: start in us-east-1, and follow S3's redirect to the bucket's region.
    client.destroy();
    client = new lib.S3Client({ ...config, region: "us-east-1" });
  }
  return { sdk: lib, client, timeout, ...(endpoint ? { endpoint: endpointForMessages(endpoint) } : {}) };
}

function endpointForMessages(endpoint: string): string {
  try {
    return new URL(endpoint).host;
  } catch {
    return "the configured endpoint";
  }
}

/** s3://bucket/key as a name for messages. */
export const s3Name = (bucket: string, key: string): string => `s3://${bucket}/${key}`;

/** Range reads of one object, each pinned to the ETag the listing or HEAD saw. */
export function s3Transport(c: S3Client, bucket: string, key: string, info: ObjectInfo, onFailure: (e: FormatError) => void): ObjectTransport {
  const fail = (e: unknown): never => {
    const err = describeError(e, info.name, c.endpoint, c.timeout);
    onFailure(err);
    throw err;
  };
  const send = async (start: number, end: number) => {
    const out = await c.client.send(new c.sdk.GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end - 1}`, ...(info.etag ? { IfMatch: quoted(info.etag) } : {}) }));
    // A server that ignores If-Match (some S3-API servers do) still says which version it sent.
    if (info.etag && out.ETag && bare(out.ETag) !== bare(info.etag)) {
      (out.Body as Readable | undefined)?.destroy();
      throw remoteError("CHANGED", info.name, `the object changed while it was read (ETag ${info.etag}, now ${out.ETag})`);
    }
    const total = /\/(\d+)$/.exec(out.ContentRange ?? "")?.[1];
    if (total !== undefined && Number(total) !== info.size) {
      (out.Body as Readable | undefined)?.destroy();
      throw remoteError("CHANGED", info.name, `the object changed while it was read (${info.size} bytes, now ${total})`);
    }
    return out.Body as Readable;
  };
  return {
    get: (start, end) => requests.run(() => send(start, end).then((body) => readBody(body, end - start, c.timeout, info.name))).catch(fail),
    // A broken stream is the --deep scan's finding (a record it could not read), not logged here as well.
    stream: (start, end) => streamRange(send, start, end, c.timeout, info.name),
  };
}

/** Servers differ in whether a listing quotes ETags; If-Match wants them quoted, and a comparison ignores the quotes. */
const bare = (etag: string): string => etag.replace(/^W\//, "").replace(/^"|"$/g, "");
const quoted = (etag: string): string => (etag.startsWith('"') || etag.startsWith("W/") ? etag : `"${etag}"`);
