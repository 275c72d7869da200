import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { runRegion, type RegionJob, type RegionResult } from "./region.js";

/** Below this many bytes, starting a thread costs more than it saves. */
const PARALLEL_THRESHOLD = 256 * 1024 * 1024;

/**
 * Runs region jobs on every core: this thread plus one worker per other core
 * (records are independent: each has its own CRC), biggest first so the
 * threads finish together. Small totals run in this thread alone. Results
 * come back in job order.
 */
export async function runJobs(jobs: RegionJob[], progress?: (bytes: number) => void, parallelThreshold = PARALLEL_THRESHOLD): Promise<RegionResult[]> {
  const total = jobs.reduce((n, j) => n + j.length, 0);
  const threads = Math.min(availableParallelism(), 8, jobs.length);
  if (total < parallelThreshold || threads < 2) return jobs.map((j) => runRegion(j, progress));
  const results: RegionResult[] = new Array(jobs.length);
  const order = jobs.map((_, i) => i).sort((a, b) => jobs[b]!.length - jobs[a]!.length);
  let next = 0;
  const take = () => (next < order.length ? order[next++] : undefined);
  // Loaded here, not at the top: default mode never starts a thread and should not pay for the module.
  // require, not import(): the bundled CLI runs as a vm.Script, which has no loader for import().
  const { Worker } = createRequire(import.meta.url)("node:worker_threads") as typeof import("node:worker_threads");
  const workers = Array.from({ length: threads - 1 }, () => new Worker(new URL("./worker.js", import.meta.url)));
  try {
    const viaWorkers = workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          let pending = 0;
          const send = (): void => {
            const id = take();
            if (id === undefined) return;
            pending++;
            w.postMessage({ id, job: jobs[id] });
          };
          w.on("message", (msg: { progress?: number; id?: number; result?: RegionResult }) => {
            if (msg.progress !== undefined) return progress?.(msg.progress);
            results[msg.id!] = msg.result!;
            pending--;
            send();
            if (pending === 0) resolve();
          });
          w.on("error", reject);
          // Two jobs in flight per worker: it never waits for this thread, which may be busy with a job of its own.
          send();
          send();
          if (pending === 0) resolve();
        }),
    );
    // This thread works too; between jobs it yields so the workers' messages get their next job.
    for (let id = take(); id !== undefined; id = take()) {
      results[id] = runRegion(jobs[id]!, progress);
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(viaWorkers);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
