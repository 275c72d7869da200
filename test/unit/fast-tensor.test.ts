/**
 * The tensor-sequence fast path (formats/torch/fast-tensor.ts) must leave the
 * decoder exactly where the opcodes would: every torch zip among the fixtures
 * and the real-world corpus decodes to the same values, storages, problems,
 * globals, calls and opcode count both ways, and hand-made variations of the
 * sequence (which it must refuse or handle alike) too.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { openTorchFile, type TorchFile } from "../../src/formats/torch/reader.js";
import { PyBytes, PyCall, PyDict, PyFloat, PyGlobal, PyList, PyPersistent, PySet, PyTuple, StorageRef, Tensor, type PyValue } from "../../src/formats/pickle/values.js";
import { FIXTURES, HAS_REALWORLD, REALWORLD } from "../helpers.js";
import { decodePickle, type PickleError, type PickleLimits } from "../../src/formats/pickle/decoder.js";
import { TorchRebuilder } from "../../src/formats/torch/rebuild.js";
import { TensorSequence } from "../../src/formats/torch/fast-tensor.js";
import { RandomAccessFile } from "../../src/storage/local-file.js";
import { readEntry, readZip } from "../../src/formats/zip/index.js";

/** A plain, comparable picture of a decoded value (iterative; shared objects shown once, then by their first path). */
function picture(root: PyValue): unknown[] {
  const out: unknown[] = [];
  const seen = new Map<object, number>();
  const stack: PyValue[] = [root];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (v === null || typeof v !== "object") {
      out.push(typeof v === "bigint" ? `${v}n` : Number.isNaN(v) ? "NaN" : v);
      continue;
    }
    const known = seen.get(v);
    if (known !== undefined) {
      out.push(["ref", known]);
      continue;
    }
    seen.set(v, seen.size);
    if (v instanceof Tensor) out.push(["tensor", v.dtype, [...v.shape], [...v.stride], v.storageOffset, v.requiresGrad, v.isParameter, v.storage.key, v.storage.dtype, v.storage.numel, v.storage.location, v.storage.storageType]);
    else if (v instanceof StorageRef) out.push(["storage", v.key, v.dtype, v.numel, v.location]);
    else if (v instanceof PyFloat) out.push(["float", Number.isNaN(v.value) ? "NaN" : v.value]);
    else if (v instanceof PyBytes) out.push(["bytes", v.kind, Buffer.from(v.bytes).toString("hex")]);
    else if (v instanceof PyGlobal) out.push(["global", v.qualname, v.offset]);
    else if (v instanceof PyPersistent) (out.push("persistent"), stack.push(v.pid));
    else if (v instanceof PyDict) {
      out.push(["dict", v.className, v.size]);
      for (const [k, x] of v.entries()) stack.push(k, x);
    } else if (v instanceof PyList || v instanceof PyTuple || v instanceof PySet) {
      out.push([v.constructor.name, v.items.length]);
      for (const x of v.items) stack.push(x);
    } else if (v instanceof PyCall) {
      out.push(["call", v.kind, v.offset, v.args.length]);
      stack.push(v.callee, ...v.args, v.state ?? null);
    }
  }
  return out;
}

function summary(f: TorchFile) {
  return {
    value: picture(f.value),
    storages: [...f.storages.entries()].map(([k, s]) => [k, s.dtype, s.numel, s.location, s.storageType]),
    problems: f.problems,
    globals: f.pickle.globals.map((g) => [g.qualname, g.offset]),
    calls: f.pickle.calls.map((c) => [c.offset, c.kind, c.callee instanceof PyGlobal ? c.callee.qualname : "?", c.args.length]),
    builds: f.pickle.builds.length,
    opcodes: f.pickle.opcodes,
    end: f.pickle.end,
  };
}

function torchZips(dir: string, depth = 0): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory() && depth < 6) out.push(...torchZips(p, depth + 1));
    else if (e.isFile() && /\.(pt|pth|bin|ckpt)$/.test(e.name) && statSync(p).size < 64 * 1024 * 1024) out.push(p);
  }
  return out;
}

async function both(path: string): Promise<[unknown, unknown] | undefined> {
  const open = async (tensorSequence: boolean) => {
    try {
      const f = await openTorchFile(path, { tensorSequence });
      try {
        return summary(f);
      } finally {
        await f.close();
      }
    } catch (e) {
      return { error: String(e), partial: (e as { partial?: { calls: unknown[]; globals: unknown[] } }).partial?.calls.length };
    }
  };
  return [await open(true), await open(false)];
}

describe("torch's tensor rebuild read in one step gives exactly what its opcodes give", () => {
  it("on every torch file among the fixtures (the ZIP64 one: 65,538 tensors)", async () => {
    const files = torchZips(FIXTURES);
    assert.ok(files.length > 30);
    for (const path of files) {
      const [fast, slow] = (await both(path))!;
      assert.deepEqual(fast, slow, path);
    }
  });

  it("on the real-world corpus", { skip: HAS_REALWORLD ? false : "../shared/realworld is not present" }, async () => {
    for (const path of torchZips(REALWORLD)) {
      const [fast, slow] = (await both(path))!;
      assert.deepEqual(fast, slow, path);
    }
  });
});

/** Decodes a torch data.pkl with the rebuilder, with and without the fast path. */
function decodeBoth(bytes: Uint8Array, limits?: Partial<PickleLimits>): { fast: unknown; slow: unknown; hits: number } {
  let hits = 0;
  const run = (on: boolean) => {
    const rb = new TorchRebuilder("data.pkl");
    const seq = new TensorSequence(rb, on);
    try {
      const d = decodePickle(bytes, 0, { limits, persistentLoad: rb.persistentLoad, rebuild: rb.reduce, sequence: seq });
      hits += seq.hits;
      return {
        value: picture(d.value),
        storages: [...rb.storages.entries()].map(([k, s]) => [k, s.dtype, s.numel]),
        problems: rb.problems,
        globals: d.globals.map((g) => [g.qualname, g.offset]),
        calls: d.calls.map((c) => [c.offset, c.kind, c.args.length]),
        opcodes: d.opcodes,
        end: d.end,
      };
    } catch (e) {
      const err = e as PickleError;
      return { error: err.code, message: err.message, offset: err.offset, calls: err.partial?.calls.length, globals: err.partial?.globals.length };
    }
  };
  const fast = run(true);
  return { fast, slow: run(false), hits };
}

async function dataPkl(path: string): Promise<Buffer> {
  const f = await RandomAccessFile.open(path);
  try {
    const zip = await readZip(f);
    const i = [...Array(zip.count).keys()].find((k) => zip.nameOf(k).endsWith("/data.pkl"))!;
    return Buffer.from(await readEntry(zip, zip.entry(i)));
  } finally {
    await f.close();
  }
}

describe("the fast path on hand-made and corrupted sequences", () => {
  it("is taken for every tensor after the first of a real optimizer state", async () => {
    const bytes = await dataPkl(join(FIXTURES, "checkpoints", "training-state", "ok-zip64-many-records", "training_state.pth"));
    const { fast, slow, hits } = decodeBoth(bytes);
    assert.deepEqual(fast, slow);
    assert.ok(hits >= 3 * 21846 - 3, `fast path taken ${hits} times`);
  });

  it("agrees with the opcodes for every byte of a pickle of 12 tensors changed to 0x00, 0x01, 0x7f, 0xff or an opcode", async () => {
    const bytes = await dataPkl(join(FIXTURES, "readers", "many_storages.pt"));
    assert.ok(decodeBoth(bytes).hits >= 10);
    for (let at = 0; at < bytes.length; at++) {
      for (const b of [0x00, 0x01, 0x7f, 0xff, 0x28, 0x29, 0x4b, 0x71, 0x68, 0x74, 0x85]) {
        const mutant = Buffer.from(bytes);
        mutant[at] = b;
        const { fast, slow } = decodeBoth(mutant);
        assert.deepEqual(fast, slow, `byte ${at} = 0x${b.toString(16)}`);
      }
    }
  });

  it("stops at the same opcode when a limit runs out inside a sequence", async () => {
    const bytes = await dataPkl(join(FIXTURES, "readers", "many_storages.pt"));
    const opcodes = decodeBoth(bytes).slow as { opcodes: number };
    for (const limits of [
      ...[1, 2, 3, 5, 8, 13].map((k) => ({ maxOpcodes: opcodes.opcodes - k })),
      { maxMemo: 40 }, { maxMemo: 60 }, { maxDepth: 2 }, { maxDepth: 3 }, { maxContainerItems: 5 }, { maxContainerItems: 2 },
    ]) {
      const { fast, slow } = decodeBoth(bytes, limits);
      assert.deepEqual(fast, slow, JSON.stringify(limits));
    }
  });
});
