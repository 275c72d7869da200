// `npm run bench`: verify-checkpoint against the original pipeline's `torch.load` way and
// against the machine's own read+CRC32 limit, on real torch checkpoints of several sizes.
// Timings live here, never in tests. See docs/performance.md for how to read the table.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, statfsSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchSharded } from "./sharded.js";
import { benchS3, s3Table } from "./s3.js";
import { benchMultiRank } from "./multirank.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url)); // dist-test/bench/run.js -> repo root
const PYTHON = "/usr/bin/python3";
const CACHE = "/tmp/verify-checkpoint-bench";
const TIME = "/usr/bin/time";
const SIZES = (process.env["BENCH_SIZES"] ?? "1,3").split(",").map(Number).filter((n) => n > 0);
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
}

const MODES: Mode[] = [
  { name: "default (--json)", cmd: process.execPath, args: (d) => [BIN, "--checkpoint_path", d, "--json"], reads: false },
  { name: "--deep --json", cmd: process.execPath, args: (d) => [BIN, "--checkpoint_path", d, "--json", "--deep"], reads: true },
  { name: "inspect training_state.pth --json", cmd: process.execPath, args: (d) => [BIN, "inspect", join(d, "training_state.pth"), "--json"], reads: false },
  { name: "torch.load (Python)", cmd: PYTHON, args: (d) => [join(ROOT, "bench", "torch_load.py"), d], reads: false },
  { name: "native limit: read+crc32", cmd: process.execPath, args: (d) => ["-e", LIMIT_SCRIPT, d], reads: true },
  { name: "read only: cat > /dev/null", cmd: "cat", args: (d) => folderFiles(d), reads: true, discardStdout: true },
  // What any run of the CLI pays before it looks at a checkpoint: Node's own start, then that plus loading the CLI.
  { name: "floor: node -e 0", cmd: process.execPath, args: () => ["-e", "0"], reads: false },
  { name: "floor: verify-checkpoint --version", cmd: process.execPath, args: () => [BIN, "--version"], reads: false },
];

interface Sample { ms: number; peakKb: number | null; exit: number | null; stderr: string }

function folderFiles(dir: string): string[] {
  return readdirSync(dir).sort().map((n) => join(dir, n));
}
function folderBytes(dir: string): number {
  return folderFiles(dir).reduce((sum, f) => sum + statSync(f).size, 0);
}

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

function ensureCheckpoint(sizeGb: number): string | null {
  const dir = join(CACHE, `training-state-${sizeGb}gb`);
  if (existsSync(join(dir, "training_state.pth"))) {
    console.log(`reusing ${dir} (${(folderBytes(dir) / 1e9).toFixed(2)} GB)`);
    return dir;
  }
  const fs = statfsSync(CACHE);
  const free = fs.bavail * fs.bsize;
  if (free < sizeGb * 1e9 * 1.1 + 1e9) {
    console.log(`skipping ${sizeGb} GB: only ${(free / 1e9).toFixed(1)} GB free in ${CACHE}`);
    return null;
  }
  console.log(`generating a ${sizeGb} GB training-state checkpoint with torch ...`);
  const r = spawnSync(PYTHON, [join(ROOT, "bench", "generate_checkpoint.py"), dir, String(sizeGb)], { stdio: "inherit" });
  if (r.status !== 0) {
    console.log(`generator failed (exit ${r.status}); skipping ${sizeGb} GB`);
    return null;
  }
  return dir;
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
  console.log(`\nSizes ${SIZES.join(", ")} GB; ${RUNS} timed runs per mode, interleaved, after one untimed warm-up run each.`);
  if (COLD && !dropCaches()) {
    console.log("BENCH_COLD=1 needs root to write /proc/sys/vm/drop_caches: benchmark skipped");
    return 1;
  }
  console.log(
    COLD
      ? "Cold cache: the page cache is dropped before every timed run, so every mode reads from disk what it reads.\n"
      : "Warm cache: nothing is dropped from the page cache, so every mode reads from memory, not disk.\n",
  );

  const rows: Row[] = [];
  const s3Tables: string[] = [];
  const notes: string[] = [];
  const generated: string[] = [];
  for (const sizeGb of SIZES) {
    const existed = existsSync(join(CACHE, `training-state-${sizeGb}gb`, "training_state.pth"));
    const dir = ensureCheckpoint(sizeGb);
    if (dir === null) continue;
    if (!existed) generated.push(dir);
    const bytes = folderBytes(dir);
    const size = `${(bytes / 1e9).toFixed(2)} GB`;
    const samples = new Map<Mode, Sample[]>(MODES.map((m) => [m, []]));
    if (!COLD) for (const m of MODES) measure(m, dir); // warm-up, untimed
    process.stdout.write(`timing ${size}: warm-up done, run`);
    for (let i = 0; i < RUNS; i++) {
      for (const m of MODES) {
        if (COLD) dropCaches();
        samples.get(m)!.push(measure(m, dir));
      }
      process.stdout.write(` ${i + 1}`);
    }
    process.stdout.write("\n");
    const med = (m: Mode) => median(samples.get(m)!.map((s) => s.ms));
    const torchMs = med(MODES[3]!);
    const limitMs = med(MODES[4]!);
    for (const m of MODES) {
      const ss = samples.get(m)!;
      const peaks = ss.map((s) => s.peakKb).filter((k): k is number => k !== null);
      const ms = med(m);
      const exits = [...new Set(ss.map((s) => String(s.exit)))].join(",");
      rows.push({
        size, mode: m.name, median: ms,
        range: `${Math.min(...ss.map((s) => s.ms)).toFixed(0)}–${Math.max(...ss.map((s) => s.ms)).toFixed(0)}`,
        peakMb: peaks.length ? (Math.max(...peaks) / 1024).toFixed(0) : "n/a",
        vsTorch: m === MODES[3] ? "1×" : ms <= torchMs ? `${(torchMs / ms).toFixed(torchMs / ms >= 10 ? 0 : 1)}× faster` : `${(ms / torchMs).toFixed(1)}× slower`,
        ofLimit: m === MODES[1] ? `${((limitMs / ms) * 100).toFixed(0)}%` : m === MODES[4] ? "100%" : "",
        gbps: m.reads ? (bytes / 1e9 / (ms / 1000)).toFixed(2) : "",
        exits,
      });
      const bad = ss.find((s) => s.exit !== 0); // the generated checkpoint passes: anything else is worth a note
      const why = bad?.stderr.split("\n").find((l) => /error/i.test(l)) ?? bad?.stderr.trim().split("\n").pop();
      if (bad) notes.push(`${size} ${m.name}: exit ${bad.exit}: ${why ?? ""}`);
    }
    const defaultMs = med(MODES[0]!);
    notes.push(
      `${size}: 25× torch.load is ${(torchMs / 25).toFixed(0)} ms; Node's own start takes ${med(MODES[6]!).toFixed(0)} ms and the CLI loaded and doing nothing ${med(MODES[7]!).toFixed(0)} ms, ` +
        `so default mode spends ${(defaultMs - med(MODES[7]!)).toFixed(0)} ms on the checkpoint itself (${(torchMs / defaultMs).toFixed(1)}× end to end)`,
    );
    // --deep runs on one thread per core, so it may beat the one-thread limit; it cannot beat a plain read of every byte.
    const catMs = med(MODES[5]!);
    if (med(MODES[1]!) < catMs * 0.9) {
      notes.push(`${size} --deep took ${med(MODES[1]!).toFixed(0)} ms, less than reading the bytes once with cat (${catMs.toFixed(0)} ms): it does not read every byte`);
    }
    if (S3) {
      const s3 = await benchS3(dir, RUNS);
      s3Tables.push(s3Table(size, s3.rows));
      notes.push(...s3.notes.map((n) => `${size} S3: ${n}`));
    }
  }

  const header = ["size", "mode", "median ms", "range ms", "peak MB", "vs torch.load (time)", "% of native limit", "GB/s", "exit"];
  const cells = [header, ...rows.map((r) => [r.size, r.mode, r.median.toFixed(0), r.range, r.peakMb, r.vsTorch, r.ofLimit, r.gbps, r.exits])];
  console.log("\n" + pad(cells));
  for (const t of s3Tables) console.log("\n" + t);
  const defaults = rows.filter((r) => r.mode === MODES[0]!.name);
  if (defaults.length > 1) {
    console.log(`\nDefault mode across sizes: ${defaults.map((r) => `${r.size} ${r.median.toFixed(0)} ms / ${r.peakMb} MB`).join("; ")}`);
  }
  for (const n of notes) console.log(`note: ${n}`);
  if (!COLD) console.log(benchMultiRank(ROOT, CACHE, PYTHON, BIN, RUNS).join("\n"));
  console.log(`\nLoad average (1 min) at the start ${loadStart.toFixed(2)}, at the end ${loadavg()[0]!.toFixed(2)} on ${cpus().length} cores${
    Math.max(loadStart, loadavg()[0]!) > cpus().length / 2 ? ": the machine was busy, so the numbers are noisy; rerun on a quiet machine" : ""}.`);
  if (process.env["BENCH_SHARDED"] !== "0") console.log(`\nMulti-rank saves (BENCH_SHARDED=0 skips them):\n${benchSharded({ root: ROOT, python: PYTHON, cache: CACHE, bin: BIN, runs: RUNS, keep: KEEP }).join("\n")}`);
  if (KEEP) console.log(`\nCheckpoints kept under ${CACHE} (BENCH_KEEP=1).`);
  else {
    for (const d of generated) rmSync(d, { recursive: true, force: true });
    console.log(`\nGenerated checkpoints removed (BENCH_KEEP=1 keeps them under ${CACHE}).`);
  }
  return 0;
}

process.exitCode = await main();
