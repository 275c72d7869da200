import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { describeError } from "../../src/storage/remote/errors.js";
import { Limiter } from "../../src/storage/remote/limiter.js";
import { BLOCK, RangeCache } from "../../src/storage/remote/ranges.js";
import { displayPath, parseRemotePath } from "../../src/storage/remote/url.js";

/** An object of `size` bytes (byte i = i % 251) behind a fetch that records every request. */
function object(size: number) {
  const bytes = Buffer.from(Array.from({ length: size }, (_, i) => i % 251));
  const requests: [number, number][] = [];
  const cache = new RangeCache(size, async (start, end) => {
    requests.push([start, end]);
    return bytes.subarray(start, end);
  });
  return { bytes, requests, cache };
}

describe("range cache", () => {
  it("reads issued together share requests: close ranges joined, distant ones apart, each block fetched once", async () => {
    const { bytes, requests, cache } = object(10 * 1024 * 1024);
    const wanted: [number, number][] = [[100, 8], [5000, 100], [40_000, 16], [3_000_000, 4], [3_000_002, 4]];
    const got = await Promise.all(wanted.map(([o, n]) => cache.read(o, n)));
    got.forEach((b, i) => assert.deepEqual(b, bytes.subarray(wanted[i]![0], wanted[i]![0] + wanted[i]![1])));
    // Blocks 0, 4 (40_000 / 8 KiB) are within the 64 KiB join gap: one request; 3_000_000 is its own.
    assert.deepEqual(requests, [[0, 5 * BLOCK], [Math.floor(3_000_000 / BLOCK) * BLOCK, (Math.floor(3_000_000 / BLOCK) + 1) * BLOCK]]);
    await cache.read(0, 5 * BLOCK);
    await cache.read(3_000_001, 2);
    assert.equal(requests.length, 2, "a held range was fetched again");
  });

  it("a large read takes held blocks and fetches only the rest, in parts of at most 8 MiB", async () => {
    const { bytes, requests, cache } = object(20 * 1024 * 1024);
    cache.prefetch(0, 64 * 1024);
    await cache.read(0, 1);
    requests.length = 0;
    const big = await cache.read(1000, 18 * 1024 * 1024);
    assert.deepEqual(big, bytes.subarray(1000, 1000 + 18 * 1024 * 1024));
    assert.equal(requests[0]![0], 64 * 1024, "the held head was fetched again");
    assert.ok(requests.every(([s, e]) => e - s <= 8 * 1024 * 1024));
  });

  it("the last block of an object is short; a failed request fails every read that waits for it", async () => {
    const { bytes, cache } = object(BLOCK + 10);
    assert.deepEqual(await cache.read(BLOCK + 5, 5), bytes.subarray(BLOCK + 5));
    const failing = new RangeCache(100, () => Promise.reject(new Error("boom")));
    await Promise.all([assert.rejects(failing.read(0, 10), /boom/), assert.rejects(failing.read(50, 10), /boom/)]);
  });

  it("hold() keeps whole blocks of bytes that arrived with another request", async () => {
    const { bytes, requests, cache } = object(3 * BLOCK);
    cache.hold(0, bytes.subarray(0, BLOCK + 100));
    assert.deepEqual(await cache.read(10, 100), bytes.subarray(10, 110));
    assert.equal(requests.length, 0);
    await cache.read(BLOCK + 10, 10);
    assert.equal(requests.length, 1, "a partial block must not be held");
  });
});

describe("limiter", () => {
  it("runs at most n tasks at once, in order", async () => {
    const limiter = new Limiter(2);
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        limiter.run(async () => {
          peak = Math.max(peak, ++active);
          order.push(i);
          await new Promise((r) => setTimeout(r, 5));
          active--;
        }),
      ),
    );
    assert.equal(peak, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
  });
});

describe("remote paths", () => {
  it("parses s3:// and http(s) paths; refuses plain http beyond loopback and folder URLs", () => {
    assert.deepEqual(parseRemotePath("s3://bucket/run/ckpt-1"), { kind: "s3", bucket: "bucket", key: "run/ckpt-1" });
    assert.deepEqual(parseRemotePath("s3://bucket"), { kind: "s3", bucket: "bucket", key: "" });
    assert.ok("problem" in parseRemotePath("s3:///key"));
    assert.ok("problem" in parseRemotePath("http://example.com/model.safetensors"));
    assert.ok(!("problem" in parseRemotePath("http://127.0.0.1:9000/model.safetensors")));
    assert.ok(!("problem" in parseRemotePath("http://[::1]:9000/model.safetensors")));
    assert.ok("problem" in parseRemotePath("https://example.com/models/"));
  });

  it("shows URLs without credentials or query strings", () => {
    assert.equal(displayPath("https://user:pw@host.example/a/b.pt?X-Amz-Signature=abc&X-Amz-Credential=AKIA"), "https://host.example/a/b.pt?…");
    assert.equal(displayPath("https://host.example/a/b.pt"), "https://host.example/a/b.pt");
    assert.equal(displayPath("s3://bucket/key"), "s3://bucket/key");
    assert.equal(displayPath("/local/path?x"), "/local/path?x");
  });

  it("describes SDK and network errors by status and code, never by their other fields", () => {
    const sdkError = Object.assign(new Error("The request signature we calculated does not match"), { name: "SignatureDoesNotMatch", $metadata: { httpStatusCode: 403, attempts: 1 }, StringToSign: "AWS4-HMAC-SHA256\nsecret-ish", AWSAccessKeyId: "AKIASECRET" });
    const e = describeError(sdkError, "s3://b/k", undefined, 30_000);
    assert.equal(e.code, "REMOTE_DENIED");
    assert.equal(e.message, "s3://b/k: access denied (HTTP 403 SignatureDoesNotMatch): check the credentials and the bucket's policy");
    const throttled = describeError(Object.assign(new Error("x"), { name: "SlowDown", $metadata: { httpStatusCode: 503, attempts: 5 } }), "s3://b/k", undefined, 30_000);
    assert.equal(throttled.message, "s3://b/k: the server throttled the reads (HTTP 503 SlowDown) after 5 attempts");
    const refused = describeError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }), "s3://b/k", "127.0.0.1:1", 30_000);
    assert.equal(refused.message, "s3://b/k: the connection was refused (127.0.0.1:1)");
    assert.equal(describeError(Object.assign(new Error(""), { name: "Unknown", $metadata: { httpStatusCode: 403 } }), "s3://b/k", undefined, 1).data["what"], "access denied (HTTP 403): check the credentials and the bucket's policy");
  });
});
