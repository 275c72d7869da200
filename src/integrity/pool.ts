import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { runRegion, type RegionJob, type RegionResult } from "./region.js";

/** Below this many bytes, starting threads costs more than it saves. */
const PARALLEL_THRESHOLD = 256 * 1024 * 1024;

/**
 * Runs region jobs on one worker thread per core (records are independent:
 * each has its own CRC), biggest first so the cores finish together. Small
 * totals run in this thread. Results come back in job order.
 */
export async function runJobs(jobs: RegionJob[], progress?: (bytes: number) => void): Promise<RegionResult[]> {
  const total = jobs.reduce((n, j) => n + j.length, 0);
  const threads = Math.min(availableParallelism(), 8, jobs.length);
  if (total < PARALLEL_THRESHOLD || threads < 2) return jobs.map((j) => runRegion(j, progress));
  const results: RegionResult[] = new Array(jobs.length);
  const order = jobs.map((_, i) => i).sort((a, b) => jobs[b]!.length - jobs[a]!.length);
  let next = 0;
  const workers = Array.from({ length: threads }, () => new Worker(new URL("./worker.js", import.meta.url)));
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const feed = () => {
              if (next >= order.length) return resolve();
              const id = order[next++]!;
              w.postMessage({ id, job: jobs[id] });
            };
            w.on("message", (msg: { progress?: number; id?: number; result?: RegionResult }) => {
              if (msg.progress !== undefined) progress?.(msg.progress);
              else {
                results[msg.id!] = msg.result!;
                feed();
              }
            });
            w.on("error", reject);
            feed();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
