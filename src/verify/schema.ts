import * as z from "zod";
import { LAYOUT_NAMES } from "../layouts/index.js";

/**
 * The JSON report, defined once. The JSON reporter validates against it
 * before printing, the library exports it, and `docs/report.schema.json` is
 * generated from it, so scripts can rely on the shape.
 */
export const SCHEMA_VERSION = 1;

export const FindingSchema = z.object({
  level: z.enum(["pass", "warn", "error", "info"]),
  code: z.string().regex(/^[A-Z][A-Z0-9_]*$/),
  message: z.string(),
  file: z.string().optional(),
  data: z.record(z.string(), z.unknown()),
});

export const CheckResultSchema = z.object({
  id: z.string(),
  title: z.string(),
  status: z.enum(["pass", "warn", "error", "skip"]),
  skipReason: z.string().optional(),
  findings: z.array(FindingSchema),
});

export const FactsSchema = z
  .object({
    epoch: z.number(),
    step: z.number(),
    totalBatches: z.number(),
    gradientAccumulationSteps: z.number(),
    optimizerSteps: z.number(),
    expectedOptimizerSteps: z.number(),
    learningRate: z.number(),
    initialLearningRate: z.number(),
    schedulerLastEpoch: z.number(),
    lossScale: z.number(),
    globalStep: z.number(),
    stepsToSkip: z.number(),
    weightTensors: z.number(),
    worldSize: z.number(),
    dataParallel: z.number(),
    tensorParallel: z.number(),
    pipelineParallel: z.number(),
    zeroStage: z.number(),
    maxSteps: z.number(),
  })
  .partial();

/** What one --shard process read (the integrity check's input), so `merge` can report as one process would. */
export const ShardSchema = z.object({
  index: z.number().int().nonnegative(),
  count: z.number().int().positive(),
  integrity: z.array(
    z.object({
      rel: z.string(),
      bytesRead: z.number(),
      recordsChecked: z.number(),
      crcNotRecorded: z.number(),
      crcMismatches: z.array(z.object({ record: z.string(), expected: z.number(), actual: z.number() })),
      nonFinite: z.array(z.object({ tensor: z.string(), dtype: z.string(), count: z.number() })),
      allZero: z.array(z.string()),
      readErrors: z.array(z.object({ where: z.string(), reason: z.string() })),
    }),
  ),
});

export const ReportSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  tool: z.object({ name: z.literal("verify-checkpoint"), version: z.string() }),
  checkpoint: z.string(),
  /** The checkpoint actually verified: `checkpoint` itself, or the one a run folder resolves to. */
  verifiedPath: z.string(),
  /** Set when `checkpoint` was a run folder: how its framework picks the checkpoint it resumes from. */
  resolvedFrom: z.object({ path: z.string(), layout: z.string(), rule: z.string(), others: z.array(z.string()) }).optional(),
  layout: z.enum(LAYOUT_NAMES as [string, ...string[]]),
  strict: z.boolean(),
  status: z.enum(["passed", "passed_with_warnings", "failed"]),
  exitCode: z.union([z.literal(0), z.literal(1)]),
  summary: z.object({ passed: z.number().int(), warnings: z.number().int(), errors: z.number().int() }),
  checks: z.array(CheckResultSchema),
  facts: FactsSchema,
  /** Only in the report of a `--deep --shard i/n` run: what `verify-checkpoint merge` combines. */
  shard: ShardSchema.optional(),
});

export type Report = z.infer<typeof ReportSchema>;
export type CheckResult = z.infer<typeof CheckResultSchema>;
export type ReportFinding = z.infer<typeof FindingSchema>;
export type Facts = z.infer<typeof FactsSchema>;
export type Status = Report["status"];
export type ShardPart = z.infer<typeof ShardSchema>;
