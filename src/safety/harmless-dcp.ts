const DATACLASS = "a dataclass of plain fields; unpickling only sets them";
const ENUM = "an enum class; its members are rebuilt from a name or value";

/** torch.distributed.checkpoint's metadata classes, under the current and the older module paths. */
const DCP_METADATA = ["Metadata", "TensorStorageMetadata", "BytesStorageMetadata", "ChunkStorageMetadata", "MetadataIndex", "StorageMeta", "TensorProperties"];

/**
 * The harmless tier's entries for DCP, Megatron-LM and Accelerate files
 * (research/distributed-layouts.md sections 2.2, 3.1, 4.1): the classes a
 * DCP `.metadata` pickles (torch 2.x, and the 1.13 prototype under
 * torch.distributed._shard), the enums Megatron's saved arguments hold, and
 * the sampler object Accelerate's sampler.bin is.
 */
export const DCP_HARMLESS: readonly { qualname: string; reason: string }[] = [
  ...DCP_METADATA.map((c) => ({ qualname: `torch.distributed.checkpoint.metadata.${c}`, reason: `DCP metadata: ${DATACLASS}` })),
  { qualname: "torch.distributed.checkpoint.metadata._MEM_FORMAT_ENCODING", reason: `DCP metadata: ${ENUM}` },
  { qualname: "torch.distributed.checkpoint.filesystem._StorageInfo", reason: `DCP metadata: ${DATACLASS}` },
  ...DCP_METADATA.filter((c) => c !== "StorageMeta" && c !== "TensorProperties").map((c) => ({ qualname: `torch.distributed._shard.checkpoint.metadata.${c}`, reason: `DCP metadata (torch 1.13 prototype): ${DATACLASS}` })),
  { qualname: "torch.distributed._shard.checkpoint.filesystem._StorageInfo", reason: `DCP metadata (torch 1.13 prototype): ${DATACLASS}` },
  { qualname: "torch.distributed._shard.sharded_tensor.metadata.TensorProperties", reason: `DCP metadata (torch <= 2.1): ${DATACLASS}` },
  { qualname: "torch.distributed._shard.sharded_tensor.metadata.MEM_FORMAT_ENCODING", reason: `DCP metadata (torch <= 2.1): ${ENUM}` },
  // Megatron-LM: enums its saved argparse.Namespace holds
  ...["AttnBackend", "AttnMaskType", "AttnType", "LayerType", "ModelType"].map((e) => ({ qualname: `megatron.core.transformer.enums.${e}`, reason: `Megatron-LM: ${ENUM}` })),
  { qualname: "megatron.core.enums.ModelType", reason: `Megatron-LM: ${ENUM}` },
  // Accelerate's sampler.bin pickles the sampler object itself
  { qualname: "accelerate.data_loader.SeedableRandomSampler", reason: "a torch RandomSampler subclass rebuilt without __init__ (unpickling only sets its attributes); the dataset and generator it holds are judged on their own" },
];
