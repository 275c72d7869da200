// Layers import only downward: the flow bytes -> decoded values -> a normalised checkpoint ->
// findings -> a report stays visible in the tree. `npm test` runs this (npm run lint:layers);
// a cycle or an upward import fails the build. See docs/decisions.md.
const LAYERS = [
  ["core", "findings", "version\\.ts"], // the shared vocabulary: options, errors, units, finding codes
  ["storage"], // where bytes come from: local files, object storage
  ["formats"], // bytes -> decoded values: zip, pickle, torch, safetensors
  ["safety", "integrity"], // judging pickle globals; --deep byte scans
  ["layouts"], // decoded files -> one NormalisedCheckpoint per layout
  ["checks"], // normalised checkpoint -> findings
  ["verify"], // run the checks, apply the policy, the report's schema
  ["report", "inspect", "latest", "diff", "merge"], // renderers and the other commands
  ["cli", "index\\.ts"], // the thin CLI and the library entry
];

const pattern = (names) => `^src/(${names.join("|")})`;

const upward = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `layer-${layer[0].replace(/\W.*/, "")}-looks-only-down`,
  comment: `${layer.join(", ")} may import only from layers below it (${LAYERS.slice(0, i).flat().join(", ") || "none"}) and itself`,
  severity: "error",
  from: { path: pattern(layer) },
  to: { path: pattern(LAYERS.slice(i + 1).flat()) },
}));

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "a cycle means two modules each need the other: one of them is in the wrong layer",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "src-not-from-tests",
      comment: "the product never imports test, bench or script code",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|bench|scripts)/" },
    },
    {
      name: "every-module-in-a-layer",
      comment: "a new top-level folder under src/ must be placed in LAYERS above, or its imports go unchecked",
      severity: "error",
      from: { path: "^src/", pathNot: `${pattern(LAYERS.flat())}` },
      to: {},
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
  },
};
