/**
 * Known-harmless globals of DeepSpeed saves (research/distributed-layouts.md
 * §1.6): every one is rebuilt by NEWOBJ + BUILD of its attributes or by
 * getattr(Enum, 'NAME'), and none defines __setstate__ or __reduce__ that
 * runs code. Spread into HARMLESS_GLOBALS (harmless.ts).
 */
const ATTRIBUTES = "unpickling only sets its attributes (no __init__ or __setstate__ runs)";

export const DEEPSPEED_HARMLESS: readonly { qualname: string; reason: string }[] = [
  { qualname: "deepspeed.runtime.fp16.loss_scaler.LossScaler", reason: `DeepSpeed's static loss scaler: ${ATTRIBUTES}` },
  { qualname: "deepspeed.runtime.fp16.loss_scaler.DynamicLossScaler", reason: `DeepSpeed's fp16 dynamic loss scaler: ${ATTRIBUTES}` },
  { qualname: "deepspeed.runtime.zero.config.ZeroStageEnum", reason: "an int enum of the ZeRO stage; Python 3.11 pickles a member as getattr(ZeroStageEnum, 'NAME')" },
  { qualname: "deepspeed.utils.tensor_fragment.fragment_address", reason: "a dataclass of two ints (numel, start) locating a parameter in a ZeRO partition" },
  // TrainingArguments.hf_deepspeed_config in a training_args.bin written under DeepSpeed
  ...["transformers.integrations.deepspeed", "transformers.deepspeed"].flatMap((m) =>
    ["HfTrainerDeepSpeedConfig", "HfDeepSpeedConfig"].map((c) => ({ qualname: `${m}.${c}`, reason: `transformers' holder of the DeepSpeed config dict: ${ATTRIBUTES}` })),
  ),
];
