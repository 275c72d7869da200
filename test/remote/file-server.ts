// An http file server for single-file URLs (https:// in production, plain http on loopback here),
// and the large sparse checkpoint the byte-count tests use.
import { closeSync, ftruncateSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { LoggedRequest } from "./harness.js";

export interface FileServer {
  /** http://127.0.0.1:PORT: files are under /files/NAME. */
  origin: string;
  log: LoggedRequest[];
  options: FileServerOptions;
  close(): Promise<void>;
}

export interface FileServerOptions {
  /** Answer every request with 200 and the whole file, as a server without range support does. */
  noRanges?: boolean;
  /** Answer every request with this status. */
  status?: number;
  /** Runs after a response is sent (n counts requests from 1). */
  afterResponse?: (name: string, n: number) => void;
}

/**
 * Files from `dir` over plain http on loopback, as a CDN serves them: Range,
 * a strong ETag from size and mtime, If-Match answered with 412. The query
 * string (where a presigned URL keeps its signature) is ignored. /redirect/NAME
 * answers 302 to /files/NAME with a signature of its own in the query.
 */
export async function startFileServer(dir: string, options: FileServerOptions = {}): Promise<FileServer> {
  const log: LoggedRequest[] = [];
  const state = { options, n: 0 };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://files");
    const [, kind = "", ...rest] = url.pathname.split("/");
    const name = decodeURIComponent(rest.join("/"));
    const entry: LoggedRequest = { method: req.method ?? "", key: name, status: 0, bytes: 0 };
    log.push(entry);
    const o = state.options;
    const send = (status: number, headers: Record<string, string | number>, body?: Buffer) => {
      entry.status = status;
      entry.bytes = body?.length ?? 0;
      res.writeHead(status, headers);
      res.end(body);
      o.afterResponse?.(name, ++state.n);
    };
    if (o.status) return send(o.status, {}, Buffer.from("no"));
    if (kind === "redirect") return send(302, { location: `/files/${rest.join("/")}?X-Amz-Signature=REDIRECT-SIGNATURE-SECRET` });
    let bytes: Buffer;
    let etag: string;
    try {
      const path = join(dir, name);
      bytes = readFileSync(path);
      etag = `"${bytes.length}-${statSync(path).mtimeMs}"`;
    } catch {
      return send(404, {}, Buffer.from("not found"));
    }
    if (req.headers["if-match"] && req.headers["if-match"] !== etag) return send(412, { etag });
    const m = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ""));
    if (!m || o.noRanges) return send(200, { etag, "content-length": bytes.length }, bytes);
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), bytes.length - 1);
    if (start >= bytes.length) return send(416, { "content-range": `bytes */${bytes.length}` });
    entry.range = [start, end];
    return send(206, { etag, "content-range": `bytes ${start}-${end}/${bytes.length}`, "accept-ranges": "bytes" }, bytes.subarray(start, end + 1));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    log,
    get options() {
      return state.options;
    },
    set options(o: FileServerOptions) {
      state.options = o;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A safetensors file of `mib` MiB of float32 zeros (sparse on disk) with one tensor per MiB, written as deep.test.ts does. */
export function sparseSafetensors(path: string, mib: number): void {
  const per = (1024 * 1024) / 4;
  const header: Record<string, unknown> = {};
  for (let i = 0; i < mib; i++) header[`layer.${i}.weight`] = { dtype: "F32", shape: [per], data_offsets: [i * per * 4, (i + 1) * per * 4] };
  let text = JSON.stringify(header);
  text += " ".repeat((8 - (text.length % 8)) % 8);
  const fd = openSync(path, "w");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(text.length));
  writeSync(fd, len);
  writeSync(fd, text);
  ftruncateSync(fd, 8 + text.length + mib * 1024 * 1024);
  closeSync(fd);
}
