/**
 * The API workload: clients read and server-side-apply ConfigMaps through the apiservers (as
 * kubectl does) and record every operation in a history (src/chaos/check's format). Each client's
 * choices come from its own fork of the seed, so interleaving cannot change them. Used by the
 * control-plane experiments (cluster/run.ts) and the experiment engine (experiment/).
 */
import { SeededPrng } from '../../primitives/prng.js';
import { ApiError, isNotFound, type KubeClient } from '../../client/index.js';
import { HistoryRecorder, type KvValue, type ProcessId } from '../check/index.js';

export type ConfigMapChoice = { readonly op: 'read' | 'write'; readonly key: string };

/** Client `process`'s stream of operations: its own fork of the seed, so interleaving cannot change it. */
export function configMapChoices(seed: number, process: number, keys: number): () => ConfigMapChoice {
  const random = new SeededPrng(seed).fork(`control-plane:workload:p${process}`);
  return () => {
    const key = configMapKey(random.int(keys));
    return { op: random.next() < 0.5 ? 'read' : 'write', key };
  };
}

function configMapKey(index: number): string {
  return `cm-${index}`;
}

/** What the run's clients saw: an acknowledged write, or nothing certain. */
function definiteFailure(error: unknown): boolean {
  // 4xx: the apiserver refused the request before writing. 5xx, timeouts, broken connections: unknown.
  return error instanceof ApiError && error.code >= 400 && error.code < 500 && error.code !== 408 && error.code !== 429;
}

export const CONFIGMAP = { apiVersion: 'v1', kind: 'ConfigMap' } as const;
const PAUSE_MS = 10;

export interface ConfigMapWorkloadOptions {
  readonly kube: KubeClient;
  readonly seed: number;
  readonly keys: number;
  /** The namespace the ConfigMaps live in (it must exist). */
  readonly namespace: string;
  /** The history's time origin: `now()` is `performance.now() - began`. */
  readonly began: number;
  /** Process ids in the history: `${processPrefix}${n}` when given, else the number n. */
  readonly processPrefix?: string;
}

export class ConfigMapWorkload {
  readonly history = new HistoryRecorder();
  /** Every write: when it was issued and (once acknowledged) when. */
  readonly writes: { issuedAtMs: number; ackedAtMs?: number }[] = [];
  private running = true;
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly o: ConfigMapWorkloadOptions) {}

  now(): number {
    return performance.now() - this.o.began;
  }

  start(processes: number): void {
    for (let p = 0; p < processes; p++) this.loops.push(this.loop(p));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** The value of every key after the run (null when absent); keys that could not be read are listed. */
  async finalState(): Promise<{ state: Map<string, KvValue | null>; unreadable: string[] }> {
    const state = new Map<string, KvValue | null>();
    const unreadable: string[] = [];
    for (let i = 0; i < this.o.keys; i++) {
      const key = configMapKey(i);
      try {
        const object = await this.o.kube.get(CONFIGMAP, this.o.namespace, key);
        state.set(key, (object['data'] as Record<string, string> | undefined)?.['v'] ?? null);
      } catch (error) {
        if (isNotFound(error)) state.set(key, null);
        else unreadable.push(`${key} (${String(error)})`);
      }
    }
    return { state, unreadable };
  }

  private processId(process: number): ProcessId {
    return this.o.processPrefix === undefined ? process : `${this.o.processPrefix}${process}`;
  }

  private async loop(process: number): Promise<void> {
    const next = configMapChoices(this.o.seed, process, this.o.keys);
    let written = 0;
    while (this.running) {
      const choice = next();
      if (choice.op === 'read') await this.read(process, choice.key);
      else await this.write(process, choice.key, `${process}:${++written}`);
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    }
  }

  private async read(process: number, key: string): Promise<void> {
    const handle = this.history.invoke(this.processId(process), 'read', key, null, this.now());
    try {
      const object = await this.o.kube.get(CONFIGMAP, this.o.namespace, key);
      const value = (object['data'] as Record<string, string> | undefined)?.['v'] ?? null;
      handle.ok(this.now(), { value });
    } catch (error) {
      if (isNotFound(error)) handle.ok(this.now(), { value: null });
      else handle.info(this.now(), String(error));
    }
  }

  private async write(process: number, key: string, value: string): Promise<void> {
    const issuedAtMs = this.now();
    const handle = this.history.invoke(this.processId(process), 'write', key, value, issuedAtMs);
    const timed: { issuedAtMs: number; ackedAtMs?: number } = { issuedAtMs };
    this.writes.push(timed);
    try {
      // Server-side apply: one request that creates or updates, as `kubectl apply --server-side`.
      const body = { ...CONFIGMAP, metadata: { name: key, namespace: this.o.namespace }, data: { v: value } };
      await this.o.kube.patch(CONFIGMAP, this.o.namespace, key, body, { type: 'apply', fieldManager: `client-${process}`, force: true });
      timed.ackedAtMs = this.now();
      handle.ok(timed.ackedAtMs);
    } catch (error) {
      if (definiteFailure(error)) handle.fail(this.now(), String(error));
      else handle.info(this.now(), String(error));
    }
  }
}
