/**
 * `runExperiment(spec, { seed, out })`: the engine's shell. Starts the cluster the experiment
 * describes on real threads, applies its manifests and waits for them, starts the workloads, checks
 * the steady state, runs the seeded fault schedule (each fault's start and end recorded on the
 * history's clock), heals, waits for the steady state again, then computes the verdicts from the
 * recorded evidence and (with `out`) writes report.json, history.jsonl and report.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeManifests } from '../../api/manifest.js';
import { address } from '../../primitives/address.js';
import { RealClock } from '../../runtime/real-clock.js';
import { Cluster } from '../../cluster/index.js';
import { HttpsTransport, KubeClient } from '../../client/index.js';
import { aggregate, type CheckResult, type HttpSample, type KvValue, type ProbeResult, type Unavailable } from '../check/index.js';
import { driverFor } from '../driver.js';
import { memberHashes } from '../etcd/run.js';
import { etcdStatuses, singleControllerManager, singleScheduler } from '../cluster/evidence.js';
import { ConfigMapWorkload } from '../workloads/configmap.js';
import { HttpWorkload } from '../workloads/http.js';
import type { ExperimentSpec, WorkloadSpec } from './define.js';
import { RolloutWorkload } from '../workloads/rollout.js';
import { runMethod } from './method.js';
import { podPlacement, runProbe, serviceAddress, untilProbesHold, type ProbeContext } from './probes.js';
import { startApiWatches } from './api-watches.js';
import { startKvWorkload } from './kv.js';
import { deploymentSampler, identitySampler, leaseSampler, placementSampler, roleSampler } from './recorders.js';
import { buildResult, writeReport, type ExperimentRunResult, type PhaseRecord } from './report.js';
import { planSchedule } from './schedule.js';
import { leaseTransitions, verdictRows, type Evidence } from './verdicts.js';

/** Loopback addresses of one run (DESIGN §5): its own block, so it runs beside `pocketkube up`. */
export interface ExperimentNetwork {
  readonly frontDoor: { readonly host: string; readonly port: number };
  readonly apiserverNetwork: string;
  readonly podNetwork: string;
  readonly serviceNetwork: string;
}

export const defaultExperimentNetwork: ExperimentNetwork = {
  frontDoor: { host: '127.71.0.1', port: 6443 }, apiserverNetwork: '127.71.1', podNetwork: '127.247.0.0/16', serviceNetwork: '127.97',
};

export interface RunExperimentOptions {
  readonly seed: number;
  /** Directory for report.json, history.jsonl and report.md (none written when absent). */
  readonly out?: string;
  readonly network?: ExperimentNetwork;
  /** Live progress, one line per phase and fault. */
  readonly log?: (line: string) => void;
}

const NAMESPACE = 'chaos';
const NAMESPACES = { apiVersion: 'v1', kind: 'Namespace' } as const;
const REQUEST_TIMEOUT_MS = 2_000;
const LEADER_LEASES = [
  { component: 'controller-manager', namespace: 'kube-system', name: 'kube-controller-manager' },
  { component: 'scheduler', namespace: 'kube-system', name: 'kube-scheduler' },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function applyManifests(kube: KubeClient, manifests: readonly string[]): Promise<string[]> {
  const applied: string[] = [];
  for (const [i, text] of manifests.entries()) {
    const decoded = decodeManifests(text);
    if (!decoded.ok) throw new Error(`setup.manifests[${i}]: ${decoded.error.message}`);
    for (const obj of decoded.objects) {
      const meta = (obj['metadata'] ?? {}) as { name?: string; namespace?: string };
      if (meta.name === undefined) throw new Error(`setup.manifests[${i}]: a ${String(obj['kind'])} without metadata.name`);
      const ref = { apiVersion: String(obj['apiVersion']), kind: String(obj['kind']) };
      await kube.patch(ref, meta.namespace ?? 'default', meta.name, obj, { type: 'apply', fieldManager: 'pocketkube-chaos', force: true });
      applied.push(`${ref.kind}/${meta.name}`);
    }
  }
  return applied;
}

function rolloutWorkload(w: Extract<WorkloadSpec, { kind: 'rollout' }>, kube: KubeClient, began: number): RolloutWorkload {
  const [namespace, name] = w.deployment.split('/') as [string, string];
  return new RolloutWorkload({ kube, namespace, name, images: w.images, everyMs: w.everyMs, began, ...(w.container === undefined ? {} : { container: w.container }) });
}

export async function runExperiment(spec: ExperimentSpec, options: RunExperimentOptions): Promise<ExperimentRunResult> {
  const log = options.log ?? (() => undefined);
  const net = options.network ?? defaultExperimentNetwork;
  const schedule = planSchedule(spec.method, options.seed);
  const began = performance.now();
  const now = () => performance.now() - began;
  const notes: string[] = [];
  const note = (text: string) => { const line = `at ${Math.round(now())} ms: ${text}`; notes.push(line); log(`  ${line}`); };
  const phases: PhaseRecord[] = [];
  const phase = (name: string) => {
    const at = now();
    const last = phases.at(-1);
    if (last !== undefined) last.endMs = at;
    phases.push({ name, startMs: at });
    log(`phase ${name}`);
  };
  const dataDir = mkdtempSync(join(tmpdir(), 'pocketkube-experiment-'));
  phase('start-cluster');
  const cluster = await Cluster.start({
    dataDir, seed: options.seed, profile: spec.cluster.profile, masters: spec.cluster.masters, workers: spec.cluster.workers,
    ...(spec.cluster.sabotage === undefined ? {} : { sabotage: spec.cluster.sabotage }),
    frontDoor: net.frontDoor, apiserverNetwork: net.apiserverNetwork, podNetwork: net.podNetwork, serviceNetwork: net.serviceNetwork,
  }).catch((error: unknown) => {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  });
  const transport = new HttpsTransport({ server: cluster.server, caPem: cluster.pki.ca.certPem, token: cluster.adminToken, requestTimeoutMs: REQUEST_TIMEOUT_MS });
  const kube = new KubeClient({ transport, clock: new RealClock(), requestTimeoutMs: REQUEST_TIMEOUT_MS, maxReadAttempts: 1 });
  const etcdMembers = cluster.masters.map((m) => address(m, 'etcd'));
  const roles = roleSampler(cluster.system, etcdMembers, now);
  const stoppers: (() => Promise<void>)[] = [() => roles.stop()];
  try {
    note(`started ${cluster.masters.length} masters and ${cluster.workers.length} workers; the front door at ${cluster.server}`);
    phase('setup');
    await kube.create(NAMESPACES, { ...NAMESPACES, metadata: { name: NAMESPACE } });
    const probeCtx: ProbeContext = { kube, namespace: NAMESPACE, now };
    // Every node registered and Ready first: pods applied while one worker is still starting would all land on the others.
    // With no workers the cluster is the control plane only (src/cluster: the masters run no node actors), so there is no node to wait for.
    const nodeCount = cluster.workers.length === 0 ? 0 : cluster.masters.length + cluster.workers.length;
    const nodes = nodeCount === 0 ? [] : await untilProbesHold([{ kind: 'nodes-ready', count: nodeCount }], probeCtx, spec.setup.timeoutMs);
    if (!nodes.every((r) => r.ok)) throw new Error(`setup: the nodes were not Ready within ${spec.setup.timeoutMs} ms: ${nodes.map((r) => r.detail).join('; ')}`);
    note(`applied ${(await applyManifests(kube, spec.setup.manifests)).join(', ')}`);
    const ready = await untilProbesHold(spec.setup.waitFor, probeCtx, spec.setup.timeoutMs);
    if (!ready.every((r) => r.ok)) throw new Error(`setup did not complete within ${spec.setup.timeoutMs} ms: ${ready.filter((r) => !r.ok).map((r) => `${r.probe}: ${r.detail}`).join('; ')}`);
    note(`setup ready: ${ready.map((r) => r.probe).join(', ')}; pods ${(await podPlacement(kube, 'default').catch(() => ['could not be listed'])).join(', ')}`);

    phase('workloads');
    const watches = spec.verdicts.some((v) => v.kind === 'watch-guarantees') ? await startApiWatches(cluster, kube, NAMESPACE) : undefined;
    if (watches !== undefined) stoppers.push(() => watches.stop());
    const api = spec.workloads.flatMap((w) => (w.kind === 'api-configmaps' ? [w] : []));
    const apiWorkloads = api.map((w, i) => new ConfigMapWorkload({ kube, seed: options.seed + i, keys: w.keys, namespace: NAMESPACE, began, processPrefix: `api${i}-` }));
    apiWorkloads.forEach((w, i) => w.start(api[i]!.processes));
    stoppers.push(async () => { await Promise.all(apiWorkloads.map((w) => w.stop())); });
    const kvSpec = spec.workloads.find((w) => w.kind === 'kv');
    const kv = kvSpec === undefined ? undefined : startKvWorkload(cluster.system, etcdMembers, { processes: kvSpec.processes, keys: kvSpec.keys, seed: options.seed, now });
    if (kv !== undefined) stoppers.push(() => kv.stop());
    const httpWorkloads: HttpWorkload[] = [];
    for (const w of spec.workloads) {
      if (w.kind !== 'http') continue;
      const target = await serviceAddress(kube, w.service);
      const workload = new HttpWorkload({ ...target, requestTimeoutMs: w.requestTimeoutMs ?? 1_000, began, name: `http:${w.service}` });
      workload.start(w.processes);
      httpWorkloads.push(workload);
    }
    stoppers.push(async () => { await Promise.all(httpWorkloads.map((w) => w.stop())); });
    const rollouts = spec.workloads.flatMap((w) => (w.kind === 'rollout' ? [rolloutWorkload(w, kube, began)] : []));
    for (const r of rollouts) r.start();
    stoppers.push(async () => { await Promise.all(rollouts.map((w) => w.stop())); });
    const deployments = deploymentSampler(kube, now);
    stoppers.push(() => deployments.stop());
    const leases = leaseSampler(kube, now, LEADER_LEASES);
    stoppers.push(() => leases.stop());
    const placements = spec.verdicts.some((v) => v.kind === 'placement-safe') ? placementSampler(kube, now) : undefined;
    if (placements !== undefined) stoppers.push(() => placements.stop());
    const identities = spec.verdicts.some((v) => v.kind === 'statefulset-identity') ? identitySampler(cluster.system, cluster.workers, now) : undefined;
    if (identities !== undefined) stoppers.push(() => identities.stop());

    phase('steady-state-before');
    const steadyBefore: ProbeResult[] = [];
    for (const p of spec.steadyState) steadyBefore.push(await runProbe(p, probeCtx));
    for (const r of steadyBefore) note(`steady state before: ${r.ok ? 'holds' : 'DOES NOT HOLD'}: ${r.probe}: ${r.detail}`);

    phase('method');
    const { faults, deathsMs, healedAtMs } = await runMethod(schedule, { cluster, etcdMembers, kube, now, note });

    phase('heal');
    const restored = spec.verdicts.find((v) => v.kind === 'steady-state-restored');
    const steadyAfter = await untilProbesHold(spec.steadyState, probeCtx, restored?.withinMs ?? 30_000);
    for (const r of steadyAfter) note(`steady state after: ${r.ok ? 'holds' : 'DOES NOT HOLD'}: ${r.probe}: ${r.detail}`);
    await sleep(spec.heal.settleMs);

    phase('verdicts');
    await Promise.all(httpWorkloads.map((w) => w.stop()));
    await Promise.all(apiWorkloads.map((w) => w.stop()));
    await kv?.stop();
    await Promise.all(rollouts.map((w) => w.stop()));
    const rolloutWithinMs = spec.verdicts.find((v) => v.kind === 'rollout-converged')?.withinMs;
    const rolloutRows = rolloutWithinMs === undefined ? [] : await Promise.all(rollouts.map((w) => w.converged(rolloutWithinMs)));
    await deployments.stop();
    await leases.stop();
    await placements?.stop();
    await identities?.stop();
    await roles.stop();
    const live: Evidence['live'] = {};
    // The verdict rests on each instance's record of its active terms; the Lease holders the API showed are added as evidence.
    const withHolders = (row: CheckResult, component: string): CheckResult => ({ ...row, detail: `${row.detail}\nLease holders observed through the API: ${leaseTransitions(leases.samples, component).join(', ') || 'none'}` });
    if (spec.verdicts.some((v) => v.kind === 'single-active-controller-manager')) live['single-active-controller-manager'] = withHolders(await singleControllerManager(cluster, deathsMs), 'controller-manager');
    if (spec.verdicts.some((v) => v.kind === 'single-active-scheduler')) live['single-active-scheduler'] = withHolders(await singleScheduler(cluster, deathsMs), 'scheduler');
    if (watches !== undefined) live['watch-guarantees'] = await watches.verdict();
    const finals = await Promise.all(apiWorkloads.map((w) => w.finalState()));
    const unreadable = finals.flatMap((f) => f.unreadable);
    // Workloads keep apart by process prefix but share keys (cm-N): only one API workload is checked exactly.
    const finalState: ReadonlyMap<string, KvValue | null> | Unavailable = unreadable.length > 0
      ? { unavailable: `the final value of ${unreadable.join(', ')} could not be read` }
      : finals[0]?.state ?? { unavailable: 'no API workload ran' };
    const apiHistory = apiWorkloads.flatMap((w) => w.history.ops);
    const kvHistory = kv?.history() ?? [];
    const kvFinalState = kv === undefined ? { unavailable: 'no kv workload ran' } : await kv.finalState();
    const view = { members: etcdMembers, system: cluster.system, statuses: () => etcdStatuses(cluster.system, etcdMembers) };
    const revision = Math.max(0, ...(await view.statuses()).map((s) => s.revision));
    const hashes = revision > 0 ? await memberHashes(view, driverFor(cluster.system), revision) : { unavailable: 'no etcd member answered its status' };
    const http: HttpSample[] = httpWorkloads.flatMap((w) => w.samples);
    const evidence: Evidence = {
      apiHistory, finalState, kvHistory, kvFinalState, http, faults, healedAtMs, deployments: deployments.samples, steadyBefore, steadyAfter,
      roles: roles.samples, memberHashes: hashes, members: etcdMembers, live, leases: leases.samples,
      rollouts: rolloutRows, placements: placements?.samples ?? [], identities: identities?.samples ?? [], rolloutHistory: rollouts.flatMap((w) => w.history),
    };
    const verdict = aggregate(spec.verdicts.flatMap((v) => verdictRows(v, evidence)));
    phases.at(-1)!.endMs = now();
    const result = buildResult({ spec, seed: options.seed, schedule, evidence, verdict, notes, phases, runMs: now() });
    return options.out === undefined ? result : { ...result, files: writeReport(options.out, result) };
  } finally {
    for (const stop of stoppers) await stop().catch(() => undefined);
    transport.close();
    await cluster.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
