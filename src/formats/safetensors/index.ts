export { parseSafetensorsHeader, MAX_HEADER_SIZE, type SafetensorsFile, type SafetensorsTensorInfo } from "./header.js";
export { readSafetensors, readSafetensorsFrom } from "./read.js";
export { safetensorsToTorchDtype, safetensorsDtypeBits, isSafetensorsDtype, DTYPE_NAMES, type SafetensorsDtype } from "./dtypes.js";
