import { accelerateLayout } from "./accelerate.js";
import { dcpLayout } from "./dcp.js";
import type { Layout } from "./define.js";
import { deepspeedLayout } from "./deepspeed.js";
import { genericLayout } from "./generic.js";
import { hfTrainerLayout } from "./hf-trainer.js";
import { lightningLayout } from "./lightning.js";
import { megatronLayout } from "./megatron.js";
import { trainingStateLayout } from "./training-state.js";

/** The layouts, most specific first: detection asks them in this order and the first that recognises the path wins. */
export const LAYOUTS: readonly Layout[] = [
  trainingStateLayout,
  hfTrainerLayout,
  lightningLayout,
  deepspeedLayout,
  megatronLayout,
  dcpLayout,
  accelerateLayout,
  genericLayout, // last: it takes anything
];

export const LAYOUT_NAMES: readonly string[] = LAYOUTS.map((l) => l.name);
