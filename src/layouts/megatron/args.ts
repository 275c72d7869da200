import { isDict, isInt, PyCall, type PyDict, type PyValue } from "../../formats/pickle/values.js";

/** The fields of Megatron's saved argparse.Namespace the checks use. */
export interface MegatronArgs {
  tp: number;
  pp: number;
  ep: number;
  cp: number;
  worldSize?: number;
  dataParallel?: number;
  globalBatchSize?: number;
  consumedTrainSamples?: number;
  rampup: boolean;
  distributedOptimizer: boolean;
  noSaveOptim: boolean;
  fields: PyDict;
}

/** The args of a model_optim_rng.pt or common state: an argparse.Namespace rebuilt as NEWOBJ + BUILD(dict). */
export function readArgs(v: PyValue | undefined): MegatronArgs | undefined {
  const fields = v instanceof PyCall && isDict(v.state) ? v.state : isDict(v) ? v : undefined;
  if (!fields) return undefined;
  const int = (k: string) => {
    const x = fields.get(k);
    return isInt(x) && Number(x) >= 0 && Number.isSafeInteger(Number(x)) ? Number(x) : undefined;
  };
  const degree = (k: string) => {
    const n = int(k);
    return n !== undefined && n >= 1 ? n : 1;
  };
  const rampup = fields.get("rampup_batch_size");
  return {
    tp: degree("tensor_model_parallel_size"),
    pp: degree("pipeline_model_parallel_size"),
    ep: degree("expert_model_parallel_size"),
    cp: degree("context_parallel_size"),
    worldSize: int("world_size"),
    dataParallel: int("data_parallel_size"),
    globalBatchSize: int("global_batch_size"),
    consumedTrainSamples: int("consumed_train_samples"),
    rampup: rampup !== undefined && rampup !== null,
    distributedOptimizer: fields.get("use_distributed_optimizer") === true,
    noSaveOptim: fields.get("no_save_optim") === true,
    fields,
  };
}

/** A saved state's iteration (`total_iters` in old files). */
export function iterationOf(d: PyDict): number | undefined {
  const v = d.get("iteration") ?? d.get("total_iters");
  return isInt(v) && Number.isSafeInteger(Number(v)) ? Number(v) : undefined;
}
