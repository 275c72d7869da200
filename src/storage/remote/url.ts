/**
 * Which paths are remote, and how a remote path is shown. A path is remote
 * when it starts with `s3://`, `https://` or `http://`; anything else is a
 * local path, as before.
 */

export type RemotePath =
  | { kind: "s3"; bucket: string; key: string }
  | { kind: "http"; url: URL };

export function isRemotePath(path: string): boolean {
  return /^(s3|https?):\/\//i.test(path);
}

/** The parsed remote path, or a sentence saying why it cannot be used (never echoing a query string). */
export function parseRemotePath(path: string): RemotePath | { problem: string } {
  const s3 = /^s3:\/\/([^/]*)\/?(.*)$/i.exec(path);
  if (s3) {
    const [, bucket = "", key = ""] = s3;
    // S3's bucket rules, loosely: enough to refuse a typo before any request is made.
    if (!/^[a-z0-9][a-z0-9.\-_]{1,254}$/i.test(bucket)) return { problem: `'${bucket}' is not a bucket name (s3://BUCKET/KEY)` };
    return { kind: "s3", bucket, key };
  }
  let url: URL;
  try {
    url = new URL(path);
  } catch {
    return { problem: "not a valid URL" };
  }
  if (url.protocol === "http:" && !isLoopback(url.hostname)) {
    return { problem: "plain http:// is accepted only for loopback hosts (a test server or a local proxy); use https://" };
  }
  if (url.pathname === "/" || url.pathname.endsWith("/")) return { problem: "an http(s) URL must name one file (folders cannot be listed over HTTP; use s3:// for those)" };
  return { kind: "http", url };
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * A URL as it may be printed: no user name or password, and no query string,
 * which is where presigned URLs carry their signature and credential
 * (`X-Amz-Signature`, `X-Amz-Credential`, tokens). A removed query shows as `?…`.
 */
export function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}${url.search ? "?…" : ""}`;
}

/** A path as it may be printed: local paths and s3:// paths unchanged, http(s) URLs redacted. */
export function displayPath(path: string): string {
  if (!/^https?:\/\//i.test(path)) return path;
  try {
    return redactUrl(new URL(path));
  } catch {
    return path.replace(/[?#].*$/, "?…").replace(/\/\/[^/@]*@/, "//");
  }
}
