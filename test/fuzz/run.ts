/**
 * `npm run fuzz -- --seed N --count N [--start I] [--spawn-every N] [--progress N] [--heap-bound-mb N]`
 * `npm run fuzz -- --seed N --index I`   regenerate and run one mutant
 * `npm run fuzz -- --replay DIR`          re-run a failure saved under /tmp/verify-checkpoint-fuzz/
 * `--bin` spawns bin/verify-checkpoint.js (which runs dist/) instead of this build's CLI.
 *
 * Exits 0 when no mutant failed, 1 otherwise. Run with `node --expose-gc` so
 * the heap bound is measured after garbage collection (npm run fuzz does).
 * node --test runs every .js file under a test/ folder: this one does nothing then.
 */
import { fuzz, replay } from "./campaign.js";
import { useBin } from "./runner.js";

const OUT_DIR = "/tmp/verify-checkpoint-fuzz";

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

function num(argv: string[], name: string, fallback: number): number {
  const v = arg(argv, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    process.stderr.write(`fuzz: ${name} needs a non-negative integer, got ${v}\n`);
    process.exit(2);
  }
  return n;
}

async function runMain(argv: string[]): Promise<number> {
  const log = (s: string) => process.stdout.write(s + "\n");
  if (argv.includes("--bin")) useBin();
  const replayDir = arg(argv, "--replay");
  if (replayDir) {
    const failures = await replay(replayDir);
    log(failures.length ? `replay: ${failures.length} failure(s)\n  ${failures.join("\n  ")}` : "replay: no failure");
    return failures.length ? 1 : 0;
  }
  const seed = num(argv, "--seed", 1);
  const index = arg(argv, "--index");
  const count = index !== undefined ? 1 : num(argv, "--count", 1000);
  const start = index !== undefined ? num(argv, "--index", 0) : num(argv, "--start", 0);
  const s = await fuzz({
    seed,
    count,
    start,
    spawnEvery: index !== undefined ? 1 : num(argv, "--spawn-every", 200),
    progressEvery: num(argv, "--progress", 1000),
    heapBoundMb: num(argv, "--heap-bound-mb", 128),
    outDir: OUT_DIR,
    log,
  });
  if (!(globalThis as { gc?: unknown }).gc) log("fuzz: note: run with node --expose-gc for the heap bound to be measured after GC");
  log(
    `fuzz summary: seed ${s.seed} start ${start} count ${s.count} failures ${s.failures.length} max ${s.maxMs.toFixed(0)} ms ` +
      `peak heap ${s.peakHeapMb.toFixed(0)} MiB heap growth ${s.heapGrowthMb.toFixed(1)} MiB spawned ${s.spawned} elapsed ${s.elapsedS.toFixed(0)} s`,
  );
  return s.failures.length ? 1 : 0;
}

if (!process.env["NODE_TEST_CONTEXT"]) {
  process.exitCode = await runMain(process.argv.slice(2));
}
