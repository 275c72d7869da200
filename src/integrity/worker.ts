import { parentPort } from "node:worker_threads";
import { runSpan, type SpanJob } from "./span.js";

/** A --deep worker: runs span jobs one at a time, reporting progress per read. */
parentPort?.on("message", (msg: { id: number; job: SpanJob }) => {
  const result = runSpan(msg.job, (bytes) => parentPort!.postMessage({ progress: bytes }));
  parentPort!.postMessage({ id: msg.id, result });
});
