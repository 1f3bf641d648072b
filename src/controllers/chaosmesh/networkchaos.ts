/**
 * Chaos Mesh's NetworkChaos controller (chaos-mesh.org/v1alpha1): the shared lifecycle
 * (records.ts) with rules set on each chosen pod's data path through its node's container runtime,
 * as Chaos Mesh's daemon sets tc and iptables rules in the pod's network namespace
 * (src/cri/chaos-network.ts says what each rule does to TCP streams, datagrams and DNS).
 * - `selector` + `mode` choose the source pods (records with selectorKey "."); `target` + its
 *   mode choose the peers (records ".Target"); `externalTargets` adds peer IPs. With neither, the
 *   rules cover every peer.
 * - `direction` says which packets: `to` (source → peers, the default), `from` (peers → source)
 *   or `both`. A source pod gets the rules for its side; for a partition with a target the target
 *   pods get the mirror (so traffic reaching them through a Service is cut as well).
 * - delay (latency, jitter), loss and duplicate (percentages) shape what the source pods send
 *   (`to`) or receive (`from`); `correlation` is accepted and not modelled (each draw independent).
 * Peers are the IPs the chosen pods had at injection: a target pod replaced later is not covered
 * (nor is it in Chaos Mesh until the object is re-applied). hostNetwork pods are not injected.
 */
import { asArray, asRecord, asString, type JsonObject, type KubeObject } from '../../api/index.js';
import type { NetworkChaosRule } from '../../cri/messages.js';
import { kinds, type CacheView, type ControllerDefinition, type ReconcileContext, type ReconcileResult } from '../framework/index.js';
import { chaosMeshKinds, networkChaosActions, networkChaosDirections, type NetworkChaosAction, type NetworkChaosDirection } from './crds.js';
import { parseGoDurationMs } from './duration.js';
import {
  chaosController, injectedRecord, isChaosFinished, newRecord, reconcileChaos, recoveredRecord, withEvent,
  type ChaosDriver, type ChaosRecord, type ChaosStep, type Selection,
} from './records.js';
import { matchPods, pickPods, podId } from './select.js';

const sourceKey = '.';
const targetKey = '.Target';
const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
/** The runtime's bound on a rule's latency and jitter (networkChaosRuleProblem). */
const maxDelayMs = 60_000;

interface Shape {
  readonly action: NetworkChaosAction;
  readonly direction: NetworkChaosDirection;
  readonly latencyMs?: number;
  readonly jitterMs?: number;
  readonly probability?: number;
}

function percentOf(v: unknown): number | undefined {
  const n = Number(asString(v));
  return Number.isFinite(n) && n >= 0 && n <= 100 ? n / 100 : undefined;
}

/** The spec's action and its parameters, or the problem with them (the schema checked the shapes). */
function shapeOf(spec: JsonObject): Shape | string {
  const action = networkChaosActions.find((a) => a === spec['action']);
  if (action === undefined) return `unknown action ${JSON.stringify(spec['action'])}: one of ${networkChaosActions.join(', ')}`;
  const direction = networkChaosDirections.find((d) => d === (spec['direction'] ?? 'to'));
  if (direction === undefined) return `unknown direction ${JSON.stringify(spec['direction'])}: one of ${networkChaosDirections.join(', ')}`;
  const bad = asArray(spec['externalTargets']).find((t) => typeof t !== 'string' || !ipv4.test(t));
  if (bad !== undefined) return `externalTargets: ${JSON.stringify(bad)} is not an IPv4 address (host names and CIDRs are not supported here)`;
  switch (action) {
    case 'partition': return { action, direction };
    case 'delay': {
      const delay = asRecord(spec['delay']) ?? {};
      const latencyMs = parseGoDurationMs(asString(delay['latency']) ?? '');
      if (latencyMs === undefined) return 'action delay needs delay.latency, a duration such as 100ms';
      if (latencyMs > maxDelayMs) return `delay.latency must be at most ${maxDelayMs / 1000}s, not ${asString(delay['latency'])}`;
      const jitterText = asString(delay['jitter']);
      const jitterMs = jitterText === undefined ? 0 : parseGoDurationMs(jitterText);
      if (jitterMs === undefined) return `delay.jitter ${JSON.stringify(jitterText)} is not a duration such as 10ms`;
      if (jitterMs > maxDelayMs) return `delay.jitter must be at most ${maxDelayMs / 1000}s, not ${jitterText}`;
      return { action, direction, latencyMs, jitterMs };
    }
    case 'loss':
    case 'duplicate': {
      const probability = percentOf(asRecord(spec[action])?.[action]);
      return probability === undefined ? `action ${action} needs ${action}.${action}, a percentage from 0 to 100 such as "25"` : { action, direction, probability };
    }
    default: {
      const never: never = action;
      throw new Error(`unknown NetworkChaos action ${String(never)}`);
    }
  }
}

function podOf(cache: CacheView, id: string): KubeObject | undefined {
  const pod = cache.get(kinds.pod, id);
  return pod?.metadata?.deletionTimestamp === undefined ? pod : undefined;
}

const podIpOf = (pod: KubeObject | undefined): string | undefined => {
  const ip = asString(asRecord(pod?.['status'])?.['podIP']);
  return ip === undefined || ip === '' ? undefined : ip;
};

function choose(selector: unknown, mode: unknown, value: unknown, seed: string, chaos: KubeObject, cache: CacheView): { ok: true; pods: readonly KubeObject[] } | { ok: false; error: string } {
  const nodeLabels = (node: string) => cache.get(kinds.node, node)?.metadata?.labels;
  const matched = matchPods(selector, chaos.metadata?.namespace ?? 'default', cache.list(kinds.pod, undefined), nodeLabels);
  if (!matched.ok) return matched;
  return pickPods(matched.pods, asString(mode) ?? '', asString(value), seed);
}

function select(chaos: KubeObject, spec: JsonObject, cache: CacheView): Selection {
  const uid = chaos.metadata?.uid ?? '';
  const sources = choose(spec['selector'], spec['mode'], spec['value'], uid, chaos, cache);
  if (!sources.ok) return sources;
  if (sources.pods.length === 0) return { ok: false, error: 'no pod is selected' };
  const target = asRecord(spec['target']);
  const targets = target === undefined ? { ok: true as const, pods: [] } : choose(target['selector'], target['mode'], target['value'], `${uid}/target`, chaos, cache);
  if (!targets.ok) return { ok: false, error: `target: ${targets.error}` };
  if (target !== undefined && targets.pods.length === 0) return { ok: false, error: 'no target pod is selected' };
  return { ok: true, records: [...sources.pods.map((p) => newRecord(podId(p), sourceKey)), ...targets.pods.map((p) => newRecord(podId(p), targetKey))] };
}

/** The IPs of the other side of `record`: targets and external targets for a source, sources for a target; undefined: every peer. */
function peersOf(spec: JsonObject, record: ChaosRecord, records: readonly ChaosRecord[], cache: CacheView): readonly string[] | undefined {
  const other = record.selectorKey === targetKey ? sourceKey : targetKey;
  const ips = records.filter((r) => r.selectorKey === other).map((r) => podIpOf(podOf(cache, r.id))).filter((ip): ip is string => ip !== undefined);
  const external = record.selectorKey === targetKey ? [] : asArray(spec['externalTargets']).filter((t): t is string => typeof t === 'string');
  const hasPeers = record.selectorKey === targetKey || asRecord(spec['target']) !== undefined || external.length > 0;
  return hasPeers ? [...new Set([...ips, ...external])] : undefined;
}

/** The rules `record`'s pod gets: its side of the affected packets (a target's only for a partition). */
function rulesFor(shape: Shape, record: ChaosRecord, peers: readonly string[] | undefined): NetworkChaosRule[] {
  const isTarget = record.selectorKey === targetKey;
  if (isTarget && shape.action !== 'partition') return [];
  // Packets source → target leave a source (egress) and reach a target (ingress); the other way round for `from`.
  const forward: NetworkChaosRule['direction'] = isTarget ? 'ingress' : 'egress';
  const backward: NetworkChaosRule['direction'] = isTarget ? 'egress' : 'ingress';
  const directions = shape.direction === 'to' ? [forward] : shape.direction === 'from' ? [backward] : [forward, backward];
  const { action, latencyMs, jitterMs, probability } = shape;
  return directions.map((direction) => ({
    action, direction, ...(peers === undefined ? {} : { peers }),
    ...(latencyMs === undefined ? {} : { latencyMs }), ...(jitterMs ? { jitterMs } : {}), ...(probability === undefined ? {} : { probability }),
  }));
}

function inject(chaos: KubeObject, spec: JsonObject, r: ChaosRecord, records: readonly ChaosRecord[], cache: CacheView, nowMs: number): ChaosStep | 'wait' {
  const shape = shapeOf(spec);
  if (typeof shape === 'string') throw new Error(shape);
  const pod = podOf(cache, r.id);
  const injected = injectedRecord(r);
  if (pod === undefined) return { actions: [], record: withEvent(injected, 'Apply', false, nowMs, 'the pod is gone') };
  const podSpec = asRecord(pod['spec']) ?? {};
  if (podSpec['hostNetwork'] === true) return { actions: [], record: withEvent(injected, 'Apply', false, nowMs, 'the pod uses the host\'s network: not injected') };
  const phase = asString(asRecord(pod['status'])?.['phase']);
  if (phase === 'Succeeded' || phase === 'Failed') return { actions: [], record: withEvent(injected, 'Apply', false, nowMs, `the pod has finished (${phase}): not injected`) };
  const node = asString(podSpec['nodeName']);
  if (node === undefined || node === '' || podIpOf(pod) === undefined) return 'wait';
  // Peers still without an IP would leave a rule that matches nothing: wait for them.
  const peerIds = records.filter((x) => x.selectorKey !== r.selectorKey).map((x) => podOf(cache, x.id));
  if (peerIds.some((p) => p !== undefined && podIpOf(p) === undefined)) return 'wait';
  const rules = rulesFor(shape, r, peersOf(spec, r, records, cache));
  const [namespace = '', name = ''] = r.id.split('/');
  return {
    actions: rules.length === 0 ? [] : [{ type: 'setPodNetworkChaos', resource: kinds.pod, node, namespace, name, podUid: pod.metadata?.uid ?? '', chaosId: chaos.metadata?.uid ?? '', rules }],
    record: withEvent(injected, 'Apply', true, nowMs, rules.length === 0 ? 'a target: its IP is a peer of the sources\' rules' : undefined),
  };
}

function recover(chaos: KubeObject, r: ChaosRecord, cache: CacheView, nowMs: number): ChaosStep {
  // A terminating pod still runs its grace period: its rules go too.
  const pod = cache.get(kinds.pod, r.id);
  const node = asString(asRecord(pod?.['spec'])?.['nodeName']);
  const [namespace = '', name = ''] = r.id.split('/');
  return {
    actions: pod === undefined || node === undefined || node === '' ? []
      : [{ type: 'setPodNetworkChaos', resource: kinds.pod, node, namespace, name, podUid: pod.metadata?.uid ?? '', chaosId: chaos.metadata?.uid ?? '', rules: [] }],
    record: withEvent(recoveredRecord(r), 'Recover', true, nowMs, pod === undefined ? 'the pod is gone' : undefined),
  };
}

const networkChaosDriver: ChaosDriver = {
  kind: chaosMeshKinds.networkChaos,
  problem: (spec) => { const shape = shapeOf(spec); return typeof shape === 'string' ? shape : undefined; },
  oneShot: () => false,
  select,
  inject,
  recover: (chaos, _spec, r, cache, nowMs) => recover(chaos, r, cache, nowMs),
};

export function reconcileNetworkChaos(key: string, cache: CacheView, ctx: ReconcileContext): ReconcileResult {
  return reconcileChaos(networkChaosDriver, key, cache, ctx);
}

/** Finished as Chaos Mesh's IsChaosFinished (the Schedule's concurrency and history use it). */
export function isNetworkChaosFinished(chaos: KubeObject): boolean {
  return isChaosFinished(networkChaosDriver, chaos);
}

export const networkChaosController: ControllerDefinition = chaosController('chaos-mesh-networkchaos', networkChaosDriver);
