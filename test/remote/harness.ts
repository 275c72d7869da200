// Test infrastructure for remote checkpoints: a real S3-API server (s3rver) on loopback, a
// counting proxy in front of it that can also refuse, stall, throttle or change an object, an
// http(s) file server for single-file URLs, and the CLI spawned without blocking this process
// (the servers run in it). Nothing here mocks the client: the CLI talks to a server over TCP
// with the AWS SDK's own signing.
import { spawn } from "node:child_process";
import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as S3 from "@aws-sdk/client-s3";
import { BIN, type CliRun } from "../helpers.js";

const require = createRequire(import.meta.url);
process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] = "true";
const sdk = require("@aws-sdk/client-s3") as typeof S3;

/** The access key s3rver knows; the secret is only checked by a server started with `verifySignatures`. */
export const ACCESS_KEY = "S3RVER";
/** A secret no output may ever contain. */
export const SECRET = "vc-test-secret-DO-NOT-PRINT-7f3a9";

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}

export interface S3Server {
  endpoint: string;
  port: number;
  client: S3.S3Client;
  put(bucket: string, key: string, body: Buffer): Promise<void>;
  /** Uploads every file under `dir` as `prefix` + its relative path. */
  upload(bucket: string, dir: string, prefix: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * s3rver on 127.0.0.1. It computes the canonical URI of a bucket-level
 * path-style request without the trailing slash SDK v3 signs, so it rejects
 * every correct ListObjectsV2 signature; it runs with allowMismatchedSignatures
 * unless a test asks for `verifySignatures` (object reads only, which it checks
 * correctly). Either way it refuses access keys it does not know (403).
 */
export async function startS3(buckets: string[], opts: { verifySignatures?: boolean } = {}): Promise<S3Server> {
  const S3rver = require("@20minutes/s3rver") as new (o: object) => S3rverInstance;
  const dir = mkdtempSync(join(tmpdir(), "vc-s3rver-"));
  const server = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory: dir,
    allowMismatchedSignatures: !opts.verifySignatures,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const secret = opts.verifySignatures ? "S3RVER" : SECRET;
  // Checksums only when required: s3rver does not read the trailing checksums of aws-chunked uploads.
  const client = new sdk.S3Client({ region: "us-east-1", endpoint, forcePathStyle: true, requestChecksumCalculation: "WHEN_REQUIRED", credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: secret } });
  const put = async (bucket: string, key: string, body: Buffer) => {
    await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  };
  return {
    endpoint,
    port,
    client,
    put,
    async upload(bucket, local, prefix) {
      for (const rel of readdirSync(local, { recursive: true }) as string[]) {
        const path = join(local, rel);
        const info = statSync(path);
        if (!info.isFile()) continue;
        const key = prefix + rel.split("\\").join("/");
        // Large files (the benchmark's) are streamed from disk, never held in memory.
        if (info.size > 64 * 1024 * 1024) await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: createReadStream(path), ContentLength: info.size }));
        else await put(bucket, key, readFileSync(path));
      }
    },
    async close() {
      client.destroy();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface LoggedRequest {
  method: string;
  /** The object key (path-style: after the bucket), "" for bucket-level requests. */
  key: string;
  range?: [number, number];
  status: number;
  /** Response body bytes sent to the client. */
  bytes: number;
}

export interface Faults {
  /** Answer this many object reads (GETs with a Range) with 503 SlowDown before passing them on. */
  throttle?: number;
  /** Object reads: send the headers and part of the body, then nothing. */
  stallBody?: boolean;
  /** Object reads: accept the connection and never answer. */
  stallHeaders?: boolean;
  /** Answer an If-Match that the object's current ETag does not satisfy with 412, as S3 does (s3rver ignores If-Match). */
  enforceIfMatch?: boolean;
  /** Runs before an object read is passed on (n counts reads of that key from 1): a test changes the object here. */
  beforeRead?: (key: string, n: number) => Promise<void>;
}

export interface Proxy {
  endpoint: string;
  log: LoggedRequest[];
  faults: Faults;
  /** Body bytes sent for object reads. */
  objectBytes(): number;
  reset(): void;
  close(): Promise<void>;
}

/** A proxy in front of `upstreamPort` that counts what it sends and injects the faults asked for. */
export async function startProxy(upstreamPort: number, faults: Faults = {}): Promise<Proxy> {
  const log: LoggedRequest[] = [];
  const reads = new Map<string, number>();
  const sockets = new Set<Socket>();
  const state = { faults };
  const server: Server = createServer((req, res) => void handle(req, res));
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://proxy");
    const key = decodeURIComponent(url.pathname.split("/").slice(2).join("/"));
    const m = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ""));
    const range: [number, number] | undefined = m ? [Number(m[1]), Number(m[2])] : undefined;
    const entry: LoggedRequest = { method: req.method ?? "", key, ...(range ? { range } : {}), status: 0, bytes: 0 };
    log.push(entry);
    const f = state.faults;
    const objectRead = req.method === "GET" && range !== undefined;
    if (objectRead) {
      const n = (reads.get(key) ?? 0) + 1;
      reads.set(key, n);
      if (f.stallHeaders) return; // never answered; the socket is closed with the proxy
      if (f.throttle && f.throttle > 0) {
        f.throttle--;
        entry.status = 503;
        res.writeHead(503, { "content-type": "application/xml" });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
        return;
      }
      await f.beforeRead?.(key, n);
    }
    const up = request({ host: "127.0.0.1", port: upstreamPort, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      const etag = upRes.headers.etag;
      const ifMatch = req.headers["if-match"];
      if (f.enforceIfMatch && ifMatch && etag && ifMatch !== etag && (upRes.statusCode ?? 0) < 300) {
        upRes.resume();
        entry.status = 412;
        res.writeHead(412, { "content-type": "application/xml" });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>');
        return;
      }
      entry.status = upRes.statusCode ?? 0;
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      if (objectRead && f.stallBody) {
        upRes.once("data", (chunk: Buffer) => {
          const half = chunk.subarray(0, Math.max(1, chunk.length >> 1));
          entry.bytes += half.length;
          res.write(half);
          upRes.destroy(); // and never another byte
        });
        return;
      }
      upRes.on("data", (chunk: Buffer) => {
        entry.bytes += chunk.length;
        res.write(chunk);
      });
      upRes.on("end", () => res.end());
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    log,
    get faults() {
      return state.faults;
    },
    set faults(f: Faults) {
      state.faults = f;
    },
    objectBytes: () => log.filter((e) => e.range).reduce((n, e) => n + e.bytes, 0),
    reset() {
      log.length = 0;
      reads.clear();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port on loopback with nothing listening: connections to it are refused. */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/**
 * The environment of a spawned CLI: no AWS variable of this machine, the
 * server's endpoint and our test keys, and nothing that could send the SDK
 * to an instance-metadata or container-credentials address.
 */
export function remoteEnv(endpoint: string | undefined, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("AWS_") && v !== undefined) env[k] = v;
  return {
    ...env,
    NO_COLOR: "1",
    FORCE_COLOR: "0",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: "/nonexistent/vc-test-config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/vc-test-credentials",
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: SECRET,
    AWS_MAX_ATTEMPTS: "3",
    // Generous: a loaded CI machine must not turn a slow answer into a failure; the stall tests set 1 s.
    VERIFY_CHECKPOINT_TIMEOUT: "20",
    ...(endpoint ? { AWS_ENDPOINT_URL: endpoint } : {}),
    ...extra,
  };
}

/** The CLI as a user runs it, without blocking this process (the servers live here). */
export function runCliAsync(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Each pair of requests for the same object whose byte ranges overlap (none should). */
export function overlappingReads(log: LoggedRequest[]): string[] {
  const byKey = new Map<string, [number, number][]>();
  for (const e of log) if (e.range && e.status === 206) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e.range]);
  const out: string[] = [];
  for (const [key, ranges] of byKey) {
    ranges.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ranges.length; i++) if (ranges[i]![0] <= ranges[i - 1]![1]) out.push(`${key} ${ranges[i - 1]!.join("-")} and ${ranges[i]!.join("-")}`);
  }
  return out;
}
