// A realistic cluster-under-fire result without a cluster: 20 s of fabricated evidence (API and
// HTTP workloads, etcd roles, Lease holders, Deployment counts) around three faults, turned into a
// result by the engine's own buildResult and verdictRows. One acknowledged write is lost and the
// Service drops requests during the worker's death, so failing verdicts name operations.
import { aggregate, type CheckResult, type DeploymentObservation, type HistoryOp, type HttpSample, type KvValue, type RoleObservation } from '../../src/chaos/check/index.js';
import { clusterUnderFire } from '../../src/chaos/experiment/cluster-under-fire.js';
import { buildResult, type ExperimentRunResult, type PhaseRecord } from '../../src/chaos/experiment/report.js';
import { planSchedule } from '../../src/chaos/experiment/schedule.js';
import { verdictRows, type Evidence, type FaultRecord, type LeaseObservation } from '../../src/chaos/experiment/verdicts.js';
import { SeededPrng } from '../../src/primitives/prng.js';

const RUN_MS = 20_000;
const WORKLOAD_MS = [1_500, 18_500] as const;
const FAULTS: FaultRecord[] = [
  { step: 0, name: 'step 0: kill-host random-worker', host: 'worker-1', startMs: 2_000, endMs: 7_000, detectionMs: 1_500, injected: true, note: 'killed worker-1; restarted worker-1' },
  { step: 1, name: 'step 1: kill-host etcd-leader-master', host: 'master-2', startMs: 8_000, endMs: 11_000, injected: true, note: 'killed master-2; restarted master-2' },
  { step: 2, name: 'step 2: isolate-master minority-master', host: 'master-3', startMs: 13_000, endMs: 16_000, injected: true, note: 'cut master-3 off; healed' },
];
const PHASES: PhaseRecord[] = [
  { name: 'start-cluster', startMs: 0, endMs: 800 }, { name: 'setup', startMs: 800, endMs: 1_450 }, { name: 'workloads', startMs: 1_450, endMs: 1_500 },
  { name: 'steady-state-before', startMs: 1_500, endMs: 1_900 }, { name: 'method', startMs: 1_900, endMs: 16_100 }, { name: 'heal', startMs: 16_100, endMs: 18_600 },
  { name: 'verdicts', startMs: 18_600, endMs: RUN_MS },
];
const during = (f: FaultRecord, t: number) => t >= f.startMs && t < f.endMs!;

/** Four ConfigMap clients: writes take effect at their completion (linearizable), fail while the leader's master is down. */
function apiHistory(prng: SeededPrng): { ops: HistoryOp[]; final: Map<string, KvValue | null> } {
  const lines: HistoryOp[] = [];
  const register = new Map<string, KvValue | null>();
  for (let p = 0; p < 4; p++) {
    const process = `api0-${p}`;
    for (let t = WORKLOAD_MS[0] + p * 3, n = 0; t < WORKLOAD_MS[1]; n++) {
      const key = `cm-${prng.int(3)}`;
      const write = prng.next() < 0.5;
      const end = t + (during(FAULTS[1]!, t) ? 400 + prng.int(600) : 4 + prng.int(18));
      const failed = during(FAULTS[1]!, t) && prng.next() < 0.7;
      const value = write ? `${process}:${n}` : null;
      lines.push({ process, type: 'invoke', f: write ? 'write' : 'read', key, value, time: t } as HistoryOp);
      if (failed) lines.push({ process, type: 'fail', f: write ? 'write' : 'read', key, value, time: end, error: 'etcdserver: request timed out' } as HistoryOp);
      else if (write) { lines.push({ process, type: 'ok', f: 'write', key, value: value!, time: end }); register.set(key, value); }
      else lines.push({ process, type: 'ok', f: 'read', key, value: register.get(key) ?? null, time: end });
      t = end + 10 + prng.int(5);
    }
  }
  // Processes interleave: each one's writes must apply in time order, so rebuild the register over the sorted history.
  lines.sort((a, b) => a.time - b.time);
  const ops = replay(lines);
  const final = new Map<string, KvValue | null>();
  for (const op of ops) if (op.type === 'ok' && op.f === 'write') final.set(op.key, op.value);
  // The lost write: cm-0 ends with the value before its last acknowledged write.
  const cm0 = ops.filter((op) => op.type === 'ok' && op.f === 'write' && op.key === 'cm-0');
  final.set('cm-0', cm0.at(-2)!.value as KvValue);
  return { ops, final };
}

/** Reads answer the register as of their completion (writes apply at theirs): a linearizable history. */
function replay(lines: readonly HistoryOp[]): HistoryOp[] {
  const register = new Map<string, KvValue | null>();
  return lines.map((op) => {
    if (op.type !== 'ok') return op;
    if (op.f === 'write') { register.set(op.key, op.value); return op; }
    return op.f === 'read' ? { ...op, value: register.get(op.key) ?? null } : op;
  });
}

/** Two GET loops: refused for the first 4 s of the worker's death (one endpoint dead), slow while a master is cut off. */
function httpSamples(prng: SeededPrng): HttpSample[] {
  const samples: HttpSample[] = [];
  for (let p = 0; p < 2; p++) {
    const process = `http:default/nginx-${p}`;
    for (let t = WORKLOAD_MS[0] + p * 7; t < WORKLOAD_MS[1];) {
      const refused = t >= FAULTS[0]!.startMs && t < FAULTS[0]!.startMs + 4_000 && prng.next() < 0.8;
      const slow = during(FAULTS[2]!, t) ? 30 + prng.int(120) : 0;
      const endMs = t + (refused ? 1 : 1 + prng.next() * 3 + slow);
      samples.push(refused ? { process, startMs: t, endMs, error: 'connect ECONNREFUSED 127.247.1.4:80' } : { process, startMs: t, endMs, status: 200 });
      t = endMs + 20;
    }
  }
  // An error text with markup: it must reach the page as text, not as a script.
  samples.push({ process: 'http:default/nginx-1', startMs: 14_000.5, endMs: 14_001, error: 'socket hang up </script><script>window.injected = 1</script>' });
  return samples.sort((a, b) => a.startMs - b.startMs);
}

function roles(): RoleObservation[] {
  const out: RoleObservation[] = [];
  for (let t = 0; t < RUN_MS; t += 100) {
    for (const m of ['master-1', 'master-2', 'master-3']) {
      if (m === 'master-2' && during(FAULTS[1]!, t)) continue; // killed: no answer
      const term = t < 8_400 ? 2 : 3;
      const leader = t < 8_000 ? 'master-2' : t < 8_400 ? undefined : 'master-1';
      const role = m === leader ? 'leader' : t >= 8_000 && t < 8_400 ? 'candidate' : 'follower';
      out.push({ member: `${m}/etcd`, term: m === 'master-3' && during(FAULTS[2]!, t) ? 3 : term, role, time: t });
    }
  }
  return out;
}

function leases(): LeaseObservation[] {
  const out: LeaseObservation[] = [];
  for (let t = WORKLOAD_MS[0]; t < WORKLOAD_MS[1]; t += 250) {
    for (const component of ['controller-manager', 'scheduler']) {
      if (during(FAULTS[1]!, t) && t < 9_000) { out.push({ timeMs: t, component }); continue; }
      out.push({ timeMs: t, component, holder: t < 9_000 ? `master-2_${component}` : `master-1_${component}` });
    }
  }
  return out;
}

function deployments(): DeploymentObservation[] {
  const out: DeploymentObservation[] = [];
  for (let t = WORKLOAD_MS[0]; t < WORKLOAD_MS[1]; t += 250) {
    if (during(FAULTS[1]!, t) && t < 8_600) { out.push({ timeMs: t }); continue; }
    const nginx = t >= 3_500 && t < 9_000 ? 1 : 2;
    out.push({ timeMs: t, deployments: [{ name: 'default/nginx-deployment', desired: 2, available: nginx }, { name: 'kube-system/coredns', desired: 1, available: 1 }] });
  }
  return out;
}

export function syntheticResult(seed = 1): ExperimentRunResult {
  const spec = clusterUnderFire({ short: true });
  const prng = new SeededPrng(seed);
  const api = apiHistory(prng);
  const probe = (probe: string, timeMs: number) => ({ probe, timeMs, ok: true, detail: 'holds' });
  const live = (name: string, holders: string): CheckResult => ({ name, status: 'pass', detail: `at most one active instance at any moment (3 instances, 2 active terms)\nLease holders observed through the API: ${holders}` });
  const evidence: Evidence = {
    apiHistory: api.ops, finalState: api.final, http: httpSamples(prng), faults: FAULTS, healedAtMs: 16_000, deployments: deployments(),
    steadyBefore: ['service-responds default/nginx', 'deployments-available', 'api-writable', 'nodes-ready'].map((p) => probe(p, 1_800)),
    steadyAfter: ['service-responds default/nginx', 'deployments-available', 'api-writable', 'nodes-ready'].map((p) => probe(p, 17_200)),
    roles: roles(), members: ['master-1/etcd', 'master-2/etcd', 'master-3/etcd'], rollouts: [], rolloutHistory: [], placements: [], identities: [], kvHistory: [], kvFinalState: new Map(),
    memberHashes: ['master-1/etcd', 'master-2/etcd', 'master-3/etcd'].map((member) => ({ member, revision: 4_210, hash: 991_201 })),
    leases: leases(),
    live: {
      'single-active-controller-manager': live('single-active-controller-manager', 'master-2_controller-manager from 1500 ms, master-1_controller-manager from 9000 ms'),
      'single-active-scheduler': live('single-active-scheduler', 'master-2_scheduler from 1500 ms, master-1_scheduler from 9000 ms'),
    },
  };
  const verdict = aggregate(spec.verdicts.flatMap((v) => verdictRows(v, evidence)));
  const notes = FAULTS.map((f) => `at ${f.startMs} ms: ${f.note}`);
  return buildResult({ spec, seed, schedule: planSchedule(spec.method, seed), evidence, verdict, notes, phases: PHASES, runMs: RUN_MS });
}
