import { parentPort } from "node:worker_threads";
import { runRegion, type RegionJob } from "./region.js";

/** A --deep worker: runs region jobs one at a time, reporting progress per chunk. */
parentPort?.on("message", (msg: { id: number; job: RegionJob }) => {
  const result = runRegion(msg.job, (bytes) => parentPort!.postMessage({ progress: bytes }));
  parentPort!.postMessage({ id: msg.id, result });
});
