/**
 * The `kv` workload of an experiment (a shell): etcd's KV API on the cluster's Raft store itself,
 * no apiserver between, by the workload of the etcd chaos runs (src/chaos/etcd/workload.ts):
 * reads, writes, compare-and-sets and deletes on a few keys, each recorded as a history for the
 * kv-linearizable and kv-acked-writes-present verdicts; the final state is read at the end.
 */
import { EtcdClient } from '../../client/etcd-client.js';
import { systemPort } from '../../client/actor-port.js';
import type { Address } from '../../primitives/address.js';
import { SeededPrng } from '../../primitives/prng.js';
import type { ActorSystem } from '../../runtime/system.js';
import type { HistoryOp, KvValue, Unavailable } from '../check/index.js';
import { CHAOS_PREFIX, DEFAULT_WORKLOAD, keyName, KvWorkload } from '../etcd/workload.js';

const decoder = new TextDecoder();
/** The final read may wait out an election the heal started. */
const FINAL_READ_TIMEOUT_MS = 10_000;

export interface KvRun {
  readonly history: () => readonly HistoryOp[];
  stop(): Promise<void>;
  /** Every workload key's value at the end (null: absent), or why it could not be read. */
  finalState(): Promise<ReadonlyMap<string, KvValue | null> | Unavailable>;
}

export function startKvWorkload(system: ActorSystem, members: readonly Address[], o: { readonly processes: number; readonly keys: number; readonly seed: number; readonly now: () => number }): KvRun {
  const options = { ...DEFAULT_WORKLOAD, processes: o.processes, keys: o.keys };
  const workload = new KvWorkload(o.now, (ms) => new Promise((resolve) => setTimeout(resolve, ms)), new SeededPrng(o.seed), options);
  const client = (clientId: string, requestTimeoutMs: number) => new EtcdClient(systemPort(system), { members, clientId, requestTimeoutMs });
  for (let p = 0; p < o.processes; p++) workload.start(`kv${p}`, client(`experiment-kv${p}`, options.opTimeoutMs));
  let stopped: Promise<void> | undefined;
  return {
    history: () => workload.history.ops,
    stop: () => (stopped ??= workload.stop().then(() => undefined)),
    finalState: async () => {
      const read = await client('experiment-kv-final', FINAL_READ_TIMEOUT_MS).range({ key: CHAOS_PREFIX, prefix: true });
      if (!read.ok) return { unavailable: `the final read of ${CHAOS_PREFIX}* failed: ${read.error.code}` };
      const state = new Map<string, KvValue | null>();
      for (let i = 0; i < o.keys; i++) state.set(keyName(i), null);
      for (const kv of read.value.kvs) if (state.has(kv.key)) state.set(kv.key, decoder.decode(kv.value));
      return state;
    },
  };
}
