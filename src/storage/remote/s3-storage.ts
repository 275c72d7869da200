import type * as S3 from "@aws-sdk/client-s3";
import type { ByteSource, DirEntry, EntryStat, Storage } from "../types.js";
import { MAX_LIST_ENTRIES } from "./config.js";
import { describeError, remoteError } from "./errors.js";
import { FailureLog } from "./failures.js";
import { RemoteObject, WARM_BYTES, type ObjectInfo } from "./object.js";
import { s3Name, s3Transport, type S3Client } from "./s3-client.js";

interface Listing {
  files: Map<string, RemoteObject>;
  folders: Set<string>;
}

/** Files a checkpoint reader opens first thing: their head and tail are fetched as soon as they are listed. */
const CHECKPOINT_FILE = /\.(pt|pth|bin|safetensors|ckpt|distcp|pkl)$/i;
/** Bytes fetched ahead per run (about 340 files' heads and tails): a folder of thousands of rank files is not held in memory at once. */
const WARM_BUDGET = 64 * 1024 * 1024;

/**
 * The objects under an S3 prefix, as a folder. A folder is listed once
 * (ListObjectsV2 with "/" as delimiter, at most MAX_LIST_ENTRIES entries),
 * and stat, list and open answer from that listing; an object outside a
 * listed folder is looked up with one HEAD.
 */
export class S3Storage implements Storage {
  readonly remote = true;
  readonly failures = new FailureLog();
  private readonly objects = new Map<string, RemoteObject>();
  private readonly listings = new Map<string, Promise<Listing>>();
  private warmed = 0;

  constructor(
    private readonly c: S3Client,
    readonly bucket: string,
    /** "" (the bucket) or a key prefix ending in "/". */
    readonly prefix: string,
  ) {}

  get root(): string {
    return this.display("");
  }

  display(rel: string): string {
    return s3Name(this.bucket, `${this.prefix}${rel}`).replace(/\/$/, "");
  }

  async stat(rel: string): Promise<EntryStat | undefined> {
    if (rel === "") return { kind: "directory", size: 0, mtimeMs: 0 };
    const parent = parentOf(rel);
    const listing = this.listings.get(parent);
    if (listing) {
      const l = await listing;
      const file = l.files.get(rel);
      if (file) return fileStat(file.info);
      return l.folders.has(rel) ? { kind: "directory", size: 0, mtimeMs: 0 } : undefined;
    }
    const file = await this.head(rel);
    if (file) return fileStat(file.info);
    const l = await this.listing(rel);
    return l.files.size + l.folders.size > 0 ? { kind: "directory", size: 0, mtimeMs: 0 } : undefined;
  }

  async list(rel: string): Promise<DirEntry[]> {
    let l: Listing;
    try {
      l = await this.listing(rel);
    } catch {
      return []; // logged by listing(): the run fails with REMOTE_READ_FAILED
    }
    const out: DirEntry[] = [...[...l.files.keys()].map((k) => ({ name: baseOf(k), kind: "file" as const })), ...[...l.folders].map((k) => ({ name: baseOf(k), kind: "directory" as const }))];
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async open(rel: string): Promise<ByteSource> {
    const known = this.objects.get(rel) ?? (await this.head(rel));
    if (!known) throw remoteError("NOT_FOUND", this.display(rel), "not found");
    return known.open();
  }

  /** The object at `rel` (seeded by locate, listed, or looked up with HEAD), undefined when there is none. */
  async head(rel: string): Promise<RemoteObject | undefined> {
    const known = this.objects.get(rel);
    if (known) return known;
    const key = `${this.prefix}${rel}`;
    try {
      const h = await this.c.client.send(new this.c.sdk.HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return this.remember(rel, { name: s3Name(this.bucket, key), size: h.ContentLength ?? 0, ...(h.ETag ? { etag: h.ETag } : {}), mtimeMs: h.LastModified?.getTime() ?? 0 });
    } catch (e) {
      const err = describeError(e, s3Name(this.bucket, key), this.c.endpoint, this.c.timeout);
      // HEAD has no body: a missing bucket is a 404 like a missing key, and the listing that follows names it.
      if (err.code === "REMOTE_NOT_FOUND") return undefined;
      throw this.failures.add(err);
    }
  }

  private listing(rel: string): Promise<Listing> {
    let l = this.listings.get(rel);
    if (!l) {
      l = this.listNow(rel).catch((e) => {
        throw this.failures.add(describeError(e, this.display(rel), this.c.endpoint, this.c.timeout));
      });
      l.catch(() => undefined);
      this.listings.set(rel, l);
    }
    return l;
  }

  private async listNow(rel: string): Promise<Listing> {
    const base = rel === "" ? this.prefix : `${this.prefix}${rel}/`;
    const out: Listing = { files: new Map(), folders: new Set() };
    let token: string | undefined;
    do {
      const page: S3.ListObjectsV2CommandOutput = await this.c.client.send(new this.c.sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: base, Delimiter: "/", ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of page.Contents ?? []) {
        const name = (o.Key ?? "").slice(base.length);
        if (name === "" || !o.Key?.startsWith(base)) continue; // a "folder marker" object, or a key outside the prefix
        const child = rel === "" ? name : `${rel}/${name}`;
        out.files.set(child, this.remember(child, { name: s3Name(this.bucket, o.Key), size: o.Size ?? 0, ...(o.ETag ? { etag: o.ETag } : {}), mtimeMs: o.LastModified?.getTime() ?? 0 }));
      }
      for (const p of page.CommonPrefixes ?? []) {
        const name = (p.Prefix ?? "").slice(base.length).replace(/\/$/, "");
        if (name !== "") out.folders.add(rel === "" ? name : `${rel}/${name}`);
      }
      if (out.files.size + out.folders.size > MAX_LIST_ENTRIES) throw remoteError("FAILED", this.display(rel), `more than ${MAX_LIST_ENTRIES} entries: not a checkpoint folder`);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    for (const [child, o] of out.files) {
      if (!CHECKPOINT_FILE.test(child) || this.warmed >= WARM_BUDGET) continue;
      this.warmed += Math.min(o.info.size, WARM_BYTES);
      o.warm();
    }
    return out;
  }

  private remember(rel: string, info: ObjectInfo): RemoteObject {
    const known = this.objects.get(rel);
    if (known) return known;
    const key = `${this.prefix}${rel}`;
    const o = new RemoteObject(info, s3Transport(this.c, this.bucket, key, info, (e) => this.failures.add(e)));
    this.objects.set(rel, o);
    return o;
  }
}

function fileStat(info: ObjectInfo): EntryStat {
  return { kind: "file", size: info.size, mtimeMs: info.mtimeMs };
}

const parentOf = (rel: string): string => (rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "");
const baseOf = (rel: string): string => rel.slice(rel.lastIndexOf("/") + 1);
