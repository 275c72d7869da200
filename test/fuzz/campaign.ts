/**
 * A fuzz campaign: mutant `i` of seed `s` is a pure function of (s, i), run
 * in-process (verify + inspect, every mutant) and as a spawned CLI (every
 * `spawnEvery`-th). Failures are written with everything needed to replay
 * them. Heap and file descriptors are sampled every `sampleEvery` mutants.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Worker } from "node:worker_threads";
import { mutate, type Mutant } from "./mutators.js";
import { Rng } from "./prng.js";
import { runInProcess, runSpawned } from "./runner.js";
import { discoverTargets, Workspace, type Target } from "./targets.js";

export interface FuzzOptions {
  seed: number;
  count: number;
  /** First mutant index (to resume or replay a slice). */
  start?: number;
  /** Spawn the CLI for every Nth mutant (0: never). */
  spawnEvery: number;
  progressEvery: number;
  sampleEvery?: number;
  /** Allowed growth of the post-GC heap over its first sample, in MiB. */
  heapBoundMb?: number;
  outDir: string;
  log: (line: string) => void;
}

export interface FailureRecord {
  index: number;
  fixture: string;
  desc: string;
  failures: string[];
  saved: string;
}

export interface FuzzSummary {
  seed: number;
  count: number;
  failures: FailureRecord[];
  maxMs: number;
  peakHeapMb: number;
  heapGrowthMb: number;
  spawned: number;
  elapsedS: number;
}

export interface Planned {
  target: Target;
  mutant: Mutant;
  deep: boolean;
}

/** Mutant `index` of `seed`: its target (round robin over every fixture), bytes, and whether to run --deep. */
export function plan(seed: number, index: number, targets: Target[], ws: Workspace): Planned {
  const rng = Rng.forMutant(seed, index);
  const target = targets[(index + seed) % targets.length]!;
  const deep = rng.chance(0.2);
  return { target, deep, mutant: mutate(rng, ws.original(target)) };
}

const MiB = 1024 * 1024;

function openFds(): number {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return 0;
  }
}

/** Kills the process if one mutant blocks the event loop for a minute (an in-process timeout cannot fire then). */
function watchdog(beat: Int32Array): Worker {
  const code = `
    const { workerData } = require("node:worker_threads");
    const beat = new Int32Array(workerData);
    let last = -1, since = Date.now();
    setInterval(() => {
      const now = Atomics.load(beat, 0);
      if (now !== last) { last = now; since = Date.now(); return; }
      if (Date.now() - since > 60000) {
        process.stderr.write("fuzz: mutant " + now + " has blocked for 60 s: replay it with --index " + now + "\\n");
        process.kill(process.pid, "SIGKILL");
      }
    }, 1000);`;
  const w = new Worker(code, { eval: true, workerData: beat.buffer });
  w.unref();
  return w;
}

/**
 * The heap bound is on the heap after a full collection: without one (npm test runs this without
 * --expose-gc) the number includes whatever garbage the last large mutant left, e.g. a decode of the
 * 65,540-record ZIP64 fixture, and says nothing about growth. V8 hands out its gc function on request.
 */
function exposedGc(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

export async function fuzz(o: FuzzOptions): Promise<FuzzSummary> {
  const targets = discoverTargets();
  const ws = new Workspace();
  const sampleEvery = o.sampleEvery ?? 1000;
  const heapBound = (o.heapBoundMb ?? 128) * MiB;
  const gc = (globalThis as { gc?: () => void }).gc ?? exposedGc();
  const beat = new Int32Array(new SharedArrayBuffer(4));
  const dog = watchdog(beat);
  const failures: FailureRecord[] = [];
  let current = -1;
  const stray: string[] = [];
  const onStray = (e: unknown) => stray.push(`unhandled (during mutant ${current}): ${e instanceof Error ? e.stack : String(e)}`);
  process.on("unhandledRejection", onStray);
  process.on("uncaughtException", onStray);
  let maxMs = 0;
  let peakHeap = 0;
  let heapBase: number | undefined;
  let heapGrowth = 0;
  let fdBase: number | undefined;
  let spawned = 0;
  const t0 = performance.now();
  const start = o.start ?? 0;
  try {
    for (let i = start; i < start + o.count; i++) {
      current = i;
      Atomics.store(beat, 0, i);
      const p = plan(o.seed, i, targets, ws);
      const placed = ws.place(p.target, p.mutant.bytes);
      const r = await runInProcess(placed.verifyPath, placed.filePath, p.deep, true);
      const found = [...r.failures];
      if (o.spawnEvery > 0 && (i - start) % o.spawnEvery === o.spawnEvery - 1) {
        found.push(...runSpawned(placed.verifyPath, placed.filePath, p.deep, true));
        spawned++;
      }
      await new Promise((res) => setImmediate(res));
      if (stray.length) found.push(...stray.splice(0));
      maxMs = Math.max(maxMs, r.maxMs);
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
      if (found.length) {
        const saved = save(o, i, p, placed);
        failures.push({ index: i, fixture: p.target.fixture, desc: p.mutant.desc, failures: found, saved });
        o.log(`FAIL mutant ${i} (${p.target.fixture}: ${p.mutant.desc}${p.deep ? ", --deep" : ""}) saved to ${saved}\n  ${found.join("\n  ").slice(0, 4000)}`);
      }
      ws.restore(p.target, placed);
      const done = i - start + 1;
      if (done % sampleEvery === 0 || done === o.count) {
        gc?.();
        const heap = process.memoryUsage().heapUsed;
        const fds = openFds();
        heapBase ??= heap;
        fdBase ??= fds;
        heapGrowth = Math.max(heapGrowth, heap - heapBase);
        if (heap - heapBase > heapBound) failures.push(memoryFailure(i, `heap after GC grew by ${((heap - heapBase) / MiB).toFixed(1)} MiB (bound ${heapBound / MiB} MiB)`));
        if (fds - fdBase > 64) failures.push(memoryFailure(i, `open file descriptors grew from ${fdBase} to ${fds}`));
      }
      if (done % o.progressEvery === 0) {
        const s = (performance.now() - t0) / 1000;
        o.log(`fuzz: ${done}/${o.count} failures ${failures.length} max ${maxMs.toFixed(0)} ms heap ${(process.memoryUsage().heapUsed / MiB).toFixed(0)} MiB ${(done / s).toFixed(0)}/s`);
      }
    }
  } finally {
    process.off("unhandledRejection", onStray);
    process.off("uncaughtException", onStray);
    await dog.terminate();
    ws.dispose();
  }
  return { seed: o.seed, count: o.count, failures, maxMs, peakHeapMb: peakHeap / MiB, heapGrowthMb: heapGrowth / MiB, spawned, elapsedS: (performance.now() - t0) / 1000 };
}

function memoryFailure(index: number, message: string): FailureRecord {
  return { index, fixture: "(process)", desc: "resource growth", failures: [message], saved: "" };
}

/** Writes the mutant (its whole folder for folder targets) and meta.json for --replay. */
function save(o: FuzzOptions, index: number, p: Planned, placed: { verifyPath: string; filePath: string }): string {
  const dir = join(o.outDir, `seed-${o.seed}-index-${index}`);
  mkdirSync(dir, { recursive: true });
  const name = p.target.folder ? (placed.verifyPath.split("/").pop() ?? "checkpoint") : p.target.rel;
  if (!existsSync(join(dir, name))) cpSync(placed.verifyPath, join(dir, name), { recursive: true });
  const meta = { seed: o.seed, index, fixture: p.target.fixture, folder: p.target.folder ?? null, rel: p.target.rel, verify: name, desc: p.mutant.desc, deep: p.deep };
  writeFileSync(join(dir, "meta.json"), JSON.stringify(meta, null, 2) + "\n");
  return dir;
}

/** Re-runs a saved failure: in-process and spawned. */
export async function replay(dir: string): Promise<string[]> {
  const { readFileSync } = await import("node:fs");
  const meta = JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")) as { verify: string; rel: string; folder: string | null; deep: boolean };
  const verifyPath = join(dir, meta.verify);
  const filePath = meta.folder ? join(verifyPath, meta.rel) : verifyPath;
  const r = await runInProcess(verifyPath, filePath, meta.deep, true);
  return [...r.failures, ...runSpawned(verifyPath, filePath, meta.deep, true)];
}
