// The layer order of DESIGN.md §2, enforced: `npm run deps` (run by `npm test`) fails on any
// import that goes up this list, on a cycle between folders, on a shell reached from below
// composition, and on a test helper imported by shipped code.
// test/tools/deps.test.ts proves that each kind of violation is rejected.

/**
 * Bottom first. Folders on one line are peers: they may import each other in one direction
 * (the folder-cycle rule forbids both). A protocol (`messages.ts`) lives in its core's folder,
 * below the shell that serves it and the clients that speak it.
 */
const LAYERS = [
  ['src/primitives'], //                          address, envelope, clock, PRNG: no imports at all
  ['src/transport'], //                           codec, ports <-> RxJS, the relay, simulated network
  ['src/runtime'], //                             actor system (given its registry)
  ['src/raft', 'src/api'], //                     Raft state machine / object types, validation, patches
  ['src/store'], //                               MVCC store, watch, leases, WAL, snapshots
  ['src/etcd', 'src/echo'], //                    etcd member core and protocol; the echo actor's protocol
  ['src/apiserver', 'src/client'], //             REST handlers, watch cache / typed client, informers
  ['src/controllers', 'src/scheduler', 'src/kubelet', 'src/cri', 'src/proxy', 'src/dns'], // pure cores
  ['actors'], //                                  thin shells
  ['src/cluster'], //                             composition: hosts, placement, the front door
  ['src/chaos'], //                               experiments, faults, verdicts
  ['src/index.ts'], //                            the package entry: re-exports composition (cluster, chaos) and what lies below
  ['src/cli', 'src/dashboard'], //                the command and its page
  ['tools'], //                                   build, benchmarks
];

/** A folder matches the files under it; a file (the package entry, src/index.ts) matches itself. */
const folderPattern = (folder) => `^${folder.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${folder.endsWith('.ts') ? '$' : '/'}`;
const anyOf = (folders) => `(${folders.map(folderPattern).join('|')})`;

const upward = LAYERS.slice(0, -1).map((layer, rank) => ({
  name: `layer-${layer[0].replace(/^src\//, '').replace(/\.ts$/, '')}`,
  comment: `${layer.join(', ')} may import only what sits below it in DESIGN.md §2; it imports a higher layer`,
  severity: 'error',
  from: { path: anyOf(layer) },
  to: { path: anyOf(LAYERS.slice(rank + 1).flat()) },
}));

/** Every project folder the layers name; a file outside all of them is not placed in the order. */
const placed = LAYERS.flat();

module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'primitives-import-nothing',
      comment: 'runtime primitives (src/primitives) import nothing, not even Node or npm modules',
      severity: 'error',
      from: { path: folderPattern('src/primitives') },
      to: { pathNot: folderPattern('src/primitives') },
    },
    {
      name: 'no-actors-below-composition',
      comment: 'only composition (src/cluster, src/chaos, src/cli) names actors; everything below speaks protocols in src/',
      severity: 'error',
      from: { path: '^src/', pathNot: anyOf(['src/cluster', 'src/chaos', 'src/index.ts', 'src/cli', 'src/dashboard']) },
      to: { path: '^actors/' },
    },
    {
      name: 'shells-do-not-import-shells',
      comment: 'one actor shell never imports another (only actors/kinds.ts lists them); they talk by messages',
      severity: 'error',
      from: { path: '^actors/([^/]+)/' },
      to: { path: '^actors/[^/]+/', pathNot: '^actors/$1/' },
    },
    {
      name: 'no-test-helpers-in-shipped-code',
      comment: 'nothing in src/, actors/ or tools/ imports a test helper',
      severity: 'error',
      from: { path: '^(src|actors|tools)/' },
      to: { path: '^test/' },
    },
    {
      name: 'unplaced-folder',
      comment: `every folder under src/ has a place in the layer order (.dependency-cruiser.cjs LAYERS): add it there`,
      severity: 'error',
      from: { path: '^src/', pathNot: anyOf(placed) },
      to: {},
    },
    {
      name: 'no-folder-cycles',
      comment: 'folders import each other in one direction only',
      severity: 'error',
      scope: 'folder',
      from: { path: '^(src|actors)/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import that resolves to nothing',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    combinedDependencies: false,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
    // The rules are about folders; no reporter output needs a cache.
    cache: false,
  },
};
