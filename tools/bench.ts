/**
 * `npm run bench -- <name>`: runs one benchmark. Each prints human lines and, as its very last
 * line, `{"bench": "<name>", "metrics": {...}}`.
 */
const benches: Record<string, () => Promise<{ run: (args: string[]) => Promise<void> }>> = {
  bus: () => import('./bench/bus.js'),
  'raft-core': () => import('./bench/raft-core.js'),
  etcd: () => import('./bench/etcd.js'),
  'etcd-chaos': () => import('./bench/etcd-chaos.js'),
  apiserver: () => import('./bench/apiserver.js'),
  controllers: () => import('./bench/controllers.js'),
  scheduler: () => import('./bench/scheduler.js'),
  pods: () => import('./bench/pods.js'),
  chaos: () => import('./bench/chaos.js'),
};

const [name, ...args] = process.argv.slice(2);
const load = name ? benches[name] : undefined;
if (!load) {
  console.error(`usage: npm run bench -- <name>\n  benchmarks: ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}
await (await load()).run(args);
process.exit(0);
