// `npm run bench`: verify-checkpoint against the original pipeline's `torch.load` way and
// against the machine's own read+CRC32 limit, on real torch checkpoints of several sizes and
// tensor counts. Timings live here, never in tests. See docs/performance.md for how to read the table.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchSharded } from "./sharded.js";
import { benchS3, s3Table } from "./s3.js";
import { benchMultiRank } from "./multirank.js";
import { folderFiles, sizeCase, tensorCase, tinyCase, type BenchCase } from "./cases.js";
import { growthLine, judgeTargets, MODE, renderTargets, type CaseResult } from "./targets.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url)); // dist-test/bench/run.js -> repo root
const PYTHON = "/usr/bin/python3";
const CACHE = "/tmp/verify-checkpoint-bench";
const TIME = "/usr/bin/time";
const list = (v: string | undefined, fallback: string) => (v ?? fallback).split(",").map(Number).filter((n) => n > 0);
const SIZES = list(process.env["BENCH_SIZES"], "1,3");
const TENSORS = list(process.env["BENCH_TENSORS"], "20000,70000");
const TINY = process.env["BENCH_TINY"] !== "0";
const RUNS = Math.max(1, Number(process.env["BENCH_RUNS"] ?? 5) || 5);
const KEEP = process.env["BENCH_KEEP"] === "1";
// Cold cache: the page cache is dropped before every timed run (root only), as on a node that was just restarted after a pre-emption.
const COLD = process.env["BENCH_COLD"] === "1";
const BIN = join(ROOT, "bin", "verify-checkpoint.js");
// BENCH_S3=1: also time default mode on each checkpoint in a loopback S3 server (bench/s3.ts).
const S3 = process.env["BENCH_S3"] === "1";

// The machine's limit for --deep: read every file of the folder once, in 8 MiB chunks into one
// buffer, and CRC32 every byte with zlib's native crc32 (the same routine Node gives the tool).
const LIMIT_SCRIPT = `const fs=require("fs"),zlib=require("zlib"),path=require("path");
const dir=process.argv[1],buf=Buffer.allocUnsafe(8<<20);let total=0,crc=0;
for(const n of fs.readdirSync(dir).sort()){const fd=fs.openSync(path.join(dir,n),"r");let r;crc=0;
while((r=fs.readSync(fd,buf,0,buf.length,null))>0){crc=zlib.crc32(buf.subarray(0,r),crc);total+=r;}fs.closeSync(fd);}
console.log(total,crc);`;

interface Mode {
  name: string;
  cmd: string;
  args: (dir: string) => string[];
  reads: boolean; // reads every byte: show throughput
  discardStdout?: boolean; // straight to /dev/null, as a shell redirect would
  /** The kinds of case it runs on (all when absent). */
  only?: BenchCase["kind"][];
}

const VERSION = "floor: verify-checkpoint --version";
const LEAST = "floor: least work (bench/floor.ts)";
const MODES: Mode[] = [
  { name: MODE.default, cmd: process.execPath, args: (d) => [BIN, "--checkpoint_path", d, "--json"], reads: false },
  { name: MODE.deep, cmd: process.execPath, args: (d) => [BIN, "--checkpoint_path", d, "--json", "--deep"], reads: true },
  // inspect prints the whole decoded value: measured where the pickle is small (the speed issue's 2 GB training state).
  { name: "inspect training_state.pth --json", cmd: process.execPath, args: (d) => [BIN, "inspect", join(d, "training_state.pth"), "--json"], reads: false, only: ["size", "tiny"] },
  { name: MODE.torch, cmd: PYTHON, args: (d) => [join(ROOT, "bench", "torch_load.py"), d], reads: false },
  { name: MODE.limit, cmd: process.execPath, args: (d) => ["-e", LIMIT_SCRIPT, d], reads: true },
  { name: "read only: cat > /dev/null", cmd: "cat", args: (d) => folderFiles(d), reads: true, discardStdout: true },
  // What any run of the CLI pays before it looks at a checkpoint: Node's own start, then that plus loading the CLI.
  { name: MODE.node, cmd: process.execPath, args: () => ["-e", "0"], reads: false },
  { name: VERSION, cmd: process.execPath, args: () => [BIN, "--version"], reads: false },
  // The checkpoint's own share: its unavoidable data work done as leanly as we know how (bench/floor.ts; not a reader).
  { name: LEAST, cmd: process.execPath, args: (d) => [join(ROOT, "dist-test", "bench", "floor.js"), d], reads: false },
];
const byName = (name: string) => MODES.find((m) => m.name === name)!;

interface Sample { ms: number; peakKb: number | null; exit: number | null; stderr: string }

// Peak RSS: /usr/bin/time -f %M when present; otherwise a preload that reports the child's own
// maxRSS (Node: process.resourceUsage(), Python: resource.getrusage) into a file on exit.
const HAVE_TIME = existsSync(TIME);
const RSS_FILE = join(CACHE, "peak-rss.txt");
const NODE_PRELOAD = join(CACHE, "peak-rss.cjs");
const PY_WRAP = `import atexit,resource,runpy,sys
atexit.register(lambda: open(${JSON.stringify(RSS_FILE)},"w").write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)))
sys.argv=sys.argv[1:];runpy.run_path(sys.argv[0],run_name="__main__")`;

function measure(mode: Mode, dir: string): Sample {
  rmSync(RSS_FILE, { force: true });
  let cmd = mode.cmd;
  let args = mode.args(dir);
  if (HAVE_TIME) {
    args = ["-f", "%M", "-o", RSS_FILE, cmd, ...args];
    cmd = TIME;
  } else if (cmd === process.execPath) {
    args = ["--require", NODE_PRELOAD, ...args];
  } else if (cmd === PYTHON) {
    args = ["-c", PY_WRAP, ...args];
  }
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ["ignore", mode.discardStdout ? "ignore" : "pipe", "pipe"], maxBuffer: 1 << 30, env: { ...process.env, NO_COLOR: "1" } });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  let peakKb: number | null = null;
  if (existsSync(RSS_FILE)) {
    const lines = readFileSync(RSS_FILE, "utf8").trim().split("\n"); // time(1) may prepend "Command exited..."
    const n = Number(lines[lines.length - 1]);
    peakKb = Number.isFinite(n) && n > 0 ? n : null;
  }
  return { ms, peakKb, exit: r.status, stderr: String(r.stderr ?? r.error ?? "").slice(0, 400) };
}

function dropCaches(): boolean {
  return spawnSync("sh", ["-c", "sync && echo 3 > /proc/sys/vm/drop_caches"]).status === 0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function machine(torchVersion: string): string {
  const cpuinfo = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? "unknown";
  return [
    `CPU: ${model}, ${cpus().length} cores; RAM: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `Linux ${release()}; Node ${process.version}; Python torch ${torchVersion}`,
    `Checkpoints under ${CACHE} (filesystem of /tmp). Peak memory: ${HAVE_TIME ? "/usr/bin/time -f %M (max RSS of the child)" : "the child's own maxRSS, reported at exit"}.`,
  ].join("\n");
}

interface Row { size: string; mode: string; median: number; range: string; peakMb: string; vsTorch: string; ofLimit: string; gbps: string; exits: string }

function pad(cells: string[][]): string {
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (i >= 2 && i <= 8 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(" | ")} |`;
  const sep = `|${widths.map((w, i) => (i >= 2 && i <= 8 ? "-".repeat(w + 1) + ":" : "-".repeat(w + 2))).join("|")}|`;
  return [line(cells[0]!), sep, ...cells.slice(1).map(line)].join("\n");
}

async function main(): Promise<number> {
  const probe = spawnSync(PYTHON, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" });
  if (probe.status !== 0) {
    console.log("torch is not installed (apt-get install -y python3-torch): benchmark skipped");
    return 0;
  }
  if (!existsSync(join(ROOT, "dist", "cli", "main.js"))) {
    console.log("dist/ is missing: run `npm run build` first");
    return 1;
  }
  mkdirSync(CACHE, { recursive: true });
  if (!HAVE_TIME) {
    writeFileSync(NODE_PRELOAD, `process.on("exit",()=>require("fs").writeFileSync(${JSON.stringify(RSS_FILE)},String(process.resourceUsage().maxRSS)));\n`);
  }
  const torchVersion = probe.stdout.trim();
  const loadStart = loadavg()[0]!;
  console.log(machine(torchVersion));
  console.log(`\n${TINY ? "The tiny fixture; " : ""}sizes ${SIZES.join(", ") || "none"} GB; tensor counts ${TENSORS.join(", ") || "none"}; ${RUNS} timed runs per mode, interleaved, after one untimed warm-up run each.`);
  if (COLD && !dropCaches()) {
    console.log("BENCH_COLD=1 needs root to write /proc/sys/vm/drop_caches: benchmark skipped");
    return 1;
  }
  console.log(
    COLD
      ? "Cold cache: the page cache is dropped before every timed run, so every mode reads from disk what it reads.\n"
      : "Warm cache: nothing is dropped from the page cache, so every mode reads from memory, not disk.\n",
  );

  const cases: BenchCase[] = [
    ...(TINY ? [tinyCase(ROOT)] : []),
    ...SIZES.map((gb) => sizeCase(ROOT, CACHE, PYTHON, gb)),
    ...TENSORS.map((n) => tensorCase(ROOT, CACHE, PYTHON, n)),
  ].filter((c): c is BenchCase => c !== null);
  const rows: Row[] = [];
  const s3Tables: string[] = [];
  const notes: string[] = [];
  const results: CaseResult[] = [];
  for (const c of cases) results.push(timeCase(c, rows, notes));
  if (S3) {
    for (const c of cases.filter((k) => k.kind === "size")) {
      const s3 = await benchS3(c.dir, RUNS);
      s3Tables.push(s3Table(c.label, s3.rows));
      notes.push(...s3.notes.map((n) => `${c.label} S3: ${n}`));
    }
  }
  const header = ["checkpoint", "mode", "median ms", "range ms", "peak MB", "vs torch.load (time)", "% of native limit", "GB/s", "exit"];
  const cells = [header, ...rows.map((r) => [r.size, r.mode, r.median.toFixed(0), r.range, r.peakMb, r.vsTorch, r.ofLimit, r.gbps, r.exits])];
  console.log("\n" + pad(cells));
  for (const t of s3Tables) console.log("\n" + t);
  const defaults = rows.filter((r) => r.mode === MODE.default);
  if (defaults.length > 1) {
    console.log(`\nDefault mode across checkpoints: ${defaults.map((r) => `${r.size} ${r.median.toFixed(0)} ms / ${r.peakMb} MB`).join("; ")}`);
  }
  const growth = growthLine(results);
  if (growth) console.log(growth);
  const targets = judgeTargets(results);
  if (targets.length > 0) console.log(`\nTargets, judged on this run:\n\n${renderTargets(targets)}`);
  for (const n of notes) console.log(`note: ${n}`);
  if (!COLD) console.log(benchMultiRank(ROOT, CACHE, PYTHON, BIN, RUNS).join("\n"));
  console.log(`\nLoad average (1 min) at the start ${loadStart.toFixed(2)}, at the end ${loadavg()[0]!.toFixed(2)} on ${cpus().length} cores${
    Math.max(loadStart, loadavg()[0]!) > cpus().length / 2 ? ": the machine was busy, so the numbers are noisy; rerun on a quiet machine" : ""}.`);
  if (process.env["BENCH_SHARDED"] !== "0") console.log(`\nMulti-rank saves (BENCH_SHARDED=0 skips them):\n${benchSharded({ root: ROOT, python: PYTHON, cache: CACHE, bin: BIN, runs: RUNS, keep: KEEP }).join("\n")}`);
  if (KEEP) console.log(`\nCheckpoints kept under ${CACHE} (BENCH_KEEP=1).`);
  else {
    for (const c of cases) if (c.generated) rmSync(c.dir, { recursive: true, force: true });
    console.log(`\nGenerated checkpoints removed (BENCH_KEEP=1 keeps them under ${CACHE}).`);
  }
  return 0;
}

/** Times every mode that applies to one checkpoint; adds its rows and notes; returns its medians and peaks. */
function timeCase(c: BenchCase, rows: Row[], notes: string[]): CaseResult {
  const modes = MODES.filter((m) => !m.only || m.only.includes(c.kind));
  const samples = new Map<Mode, Sample[]>(modes.map((m) => [m, []]));
  if (!COLD) for (const m of modes) measure(m, c.dir); // warm-up, untimed
  process.stdout.write(`timing ${c.label}: warm-up done, run`);
  for (let i = 0; i < RUNS; i++) {
    for (const m of modes) {
      if (COLD) dropCaches();
      samples.get(m)!.push(measure(m, c.dir));
    }
    process.stdout.write(` ${i + 1}`);
  }
  process.stdout.write("\n");
  const med = (m: Mode) => median(samples.get(m)!.map((s) => s.ms));
  const result: CaseResult = { bench: c, ms: new Map(), mb: new Map() };
  const torchMs = med(byName(MODE.torch));
  const limitMs = samples.has(byName(MODE.limit)) ? med(byName(MODE.limit)) : undefined;
  for (const m of modes) {
    const ss = samples.get(m)!;
    const peaks = ss.map((s) => s.peakKb).filter((k): k is number => k !== null);
    const ms = med(m);
    result.ms.set(m.name, ms);
    if (peaks.length) result.mb.set(m.name, Math.max(...peaks) / 1024);
    rows.push({
      size: c.label, mode: m.name, median: ms,
      range: `${Math.min(...ss.map((s) => s.ms)).toFixed(0)}–${Math.max(...ss.map((s) => s.ms)).toFixed(0)}`,
      peakMb: peaks.length ? (Math.max(...peaks) / 1024).toFixed(0) : "n/a",
      vsTorch: m.name === MODE.torch ? "1×" : ms <= torchMs ? `${(torchMs / ms).toFixed(torchMs / ms >= 10 ? 0 : 1)}× faster` : `${(ms / torchMs).toFixed(1)}× slower`,
      ofLimit: m.name === MODE.deep && limitMs !== undefined ? `${((limitMs / ms) * 100).toFixed(0)}%` : m.name === MODE.limit ? "100%" : "",
      gbps: m.reads ? (c.bytes / 1e9 / (ms / 1000)).toFixed(2) : "",
      exits: [...new Set(ss.map((s) => String(s.exit)))].join(","),
    });
    const bad = ss.find((s) => s.exit !== 0); // the generated checkpoints pass: anything else is worth a note
    const why = bad?.stderr.split("\n").find((l) => /error/i.test(l)) ?? bad?.stderr.trim().split("\n").pop();
    if (bad) notes.push(`${c.label} ${m.name}: exit ${bad.exit}: ${why ?? ""}`);
  }
  const defaultMs = med(byName(MODE.default));
  const version = med(byName(VERSION));
  const nodeMs = med(byName(MODE.node));
  const least = med(byName(LEAST));
  notes.push(
    `${c.label}: Node's own start takes ${nodeMs.toFixed(0)} ms and the CLI loaded and doing nothing ${version.toFixed(0)} ms, ` +
      `so default mode spends ${(defaultMs - version).toFixed(0)} ms on the checkpoint itself (${(torchMs / defaultMs).toFixed(1)}× faster than torch.load end to end); ` +
      `the least work takes ${least.toFixed(0)} ms (${(least / nodeMs).toFixed(2)}× node -e 0), default mode ${(defaultMs / least).toFixed(2)}× that`,
  );
  // --deep runs on one thread per core, so it may beat the one-thread limit; it cannot beat a plain read of every byte.
  const cat = MODES.find((m) => m.name.startsWith("read only"))!;
  if (samples.has(cat) && med(byName(MODE.deep)) < med(cat) * 0.9) {
    notes.push(`${c.label} --deep took ${med(byName(MODE.deep)).toFixed(0)} ms, less than reading the bytes once with cat (${med(cat).toFixed(0)} ms): it does not read every byte`);
  }
  return result;
}

process.exitCode = await main();
