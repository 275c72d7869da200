import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { runSpan, type SpanJob, type SpanResult } from "./span.js";

/** Below this many bytes, starting a thread costs more than it saves. */
const PARALLEL_THRESHOLD = 256 * 1024 * 1024;

/**
 * Runs span jobs on every core: this thread plus one worker per other core
 * (jobs are independent: each record has its own CRC), biggest first so the
 * threads finish together. Small totals run in this thread alone. Results
 * come back in job order.
 */
export async function runJobs(
  jobs: SpanJob[],
  progress?: (bytes: number) => void,
  parallelThreshold = PARALLEL_THRESHOLD,
  /** Work only this thread can do (it needs the decoded zip), done first while the workers take jobs. */
  local: { bytes: number; run(): Promise<void> } = { bytes: 0, run: async () => undefined },
): Promise<SpanResult[]> {
  const sizes = jobs.map(jobBytes);
  const total = sizes.reduce((n, s) => n + s, local.bytes);
  const threads = Math.min(availableParallelism(), 8, jobs.length + 1);
  if (total < parallelThreshold || threads < 2 || jobs.length === 0) {
    await local.run();
    return jobs.map((j) => runSpan(j, progress));
  }
  const results: SpanResult[] = new Array(jobs.length);
  const order = jobs.map((_, i) => i).sort((a, b) => sizes[b]! - sizes[a]!);
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
          w.on("message", (msg: { progress?: number; id?: number; result?: SpanResult }) => {
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
    // This thread works too, on its own work first, then on jobs; between jobs it yields so the workers' messages get their next job.
    await local.run();
    await new Promise((r) => setImmediate(r));
    for (let id = take(); id !== undefined; id = take()) {
      results[id] = runSpan(jobs[id]!, progress);
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(viaWorkers);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}

/** Bytes of the records a job reads (the parallel threshold and the biggest-first order). */
export function jobBytes(job: SpanJob): number {
  let bytes = 0;
  for (let i = 0; i < job.starts.length; i++) bytes += job.ends[i]! - job.starts[i]!;
  return bytes;
}
