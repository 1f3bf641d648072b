/**
 * Steady-state probes and the observations the verdicts read, against a running cluster (a
 * shell: HTTP, the API). Each probe returns what it measured and whether that met its tolerance.
 */
import type { KubeObject } from '../../api/index.js';
import type { KubeClient } from '../../client/index.js';
import type { DeploymentCount, ProbeResult } from '../check/index.js';
import { CONFIGMAP } from '../workloads/configmap.js';
import { httpProbe } from '../workloads/http.js';
import type { ProbeSpec } from './define.js';

const DEPLOYMENTS = { apiVersion: 'apps/v1', kind: 'Deployment' } as const;
const SERVICES = { apiVersion: 'v1', kind: 'Service' } as const;
const NODES = { apiVersion: 'v1', kind: 'Node' } as const;
const PROBE_TIMEOUT_MS = 1_000;

export interface ProbeContext {
  readonly kube: KubeClient;
  /** The namespace api-writable writes its ConfigMap to. */
  readonly namespace: string;
  now(): number;
}

function probeName(probe: ProbeSpec): string {
  return probe.kind === 'service-responds' ? `service-responds(${probe.service})` : probe.kind;
}

function splitName(ref: string): [string, string] {
  const [namespace, name] = ref.includes('/') ? ref.split('/', 2) as [string, string] : ['default', ref];
  return [namespace, name];
}

/** The Service's ClusterIP and first port. */
export async function serviceAddress(kube: KubeClient, ref: string): Promise<{ host: string; port: number }> {
  const [namespace, name] = splitName(ref);
  const svc = await kube.get(SERVICES, namespace, name);
  const spec = svc['spec'] as { clusterIP?: string; ports?: { port: number }[] } | undefined;
  if (spec?.clusterIP === undefined || spec.ports?.[0] === undefined) throw new Error(`Service ${ref} has no ClusterIP or port`);
  return { host: spec.clusterIP, port: spec.ports[0].port };
}

/** Where each pod of `namespace` runs: `name@node` (evidence for the report: a Service's spread over nodes). */
export async function podPlacement(kube: KubeClient, namespace: string): Promise<string[]> {
  const pods = (await kube.list<KubeObject>({ apiVersion: 'v1', kind: 'Pod' }, { namespace })).items;
  return pods.map((p) => `${p.metadata?.name ?? '?'}@${(p['spec'] as { nodeName?: string } | undefined)?.nodeName ?? 'unscheduled'}`);
}

export async function deploymentCounts(kube: KubeClient): Promise<DeploymentCount[]> {
  const list = await kube.list<KubeObject>(DEPLOYMENTS);
  return list.items.map((d) => ({
    name: `${d.metadata?.namespace ?? ''}/${d.metadata?.name ?? ''}`,
    desired: (d['spec'] as { replicas?: number } | undefined)?.replicas ?? 1,
    available: (d['status'] as { availableReplicas?: number } | undefined)?.availableReplicas ?? 0,
  }));
}

async function measure(probe: ProbeSpec, ctx: ProbeContext): Promise<{ ok: boolean; detail: string }> {
  switch (probe.kind) {
    case 'service-responds': {
      const { host, port } = await serviceAddress(ctx.kube, probe.service);
      const samples = probe.samples ?? 5;
      const min = probe.minOkRatio ?? 1;
      let ok = 0;
      const errors: string[] = [];
      for (let i = 0; i < samples; i++) {
        const reply = await httpProbe(host, port, PROBE_TIMEOUT_MS);
        if (reply.status === 200) ok++;
        else errors.push(reply.error ?? `HTTP ${reply.status}`);
      }
      return { ok: ok / samples >= min, detail: `${ok}/${samples} GETs of http://${host}:${port}/ answered 200 (tolerance >= ${min * 100}%)${errors.length ? `; ${errors[0]}` : ''}` };
    }
    case 'deployments-available': {
      const counts = await deploymentCounts(ctx.kube);
      const ok = counts.length > 0 && counts.every((d) => d.available === d.desired);
      return { ok, detail: `${counts.map((d) => `${d.name} ${d.available}/${d.desired}`).join(', ') || 'no Deployments'} (tolerance: available == desired)` };
    }
    case 'api-writable': {
      const started = ctx.now();
      const body = { ...CONFIGMAP, metadata: { name: 'steady-state-probe', namespace: ctx.namespace }, data: { at: String(Math.round(started)) } };
      await ctx.kube.patch(CONFIGMAP, ctx.namespace, 'steady-state-probe', body, { type: 'apply', fieldManager: 'steady-state-probe', force: true });
      const tookMs = ctx.now() - started;
      const limit = probe.timeoutMs ?? 2_000;
      return { ok: tookMs <= limit, detail: `a write was acknowledged in ${Math.round(tookMs)} ms (tolerance <= ${limit} ms)` };
    }
    case 'nodes-ready': {
      const nodes = (await ctx.kube.list<KubeObject>(NODES)).items;
      const readyOf = (n: KubeObject) => ((n['status'] as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
      const notReady = nodes.filter((n) => !readyOf(n)).map((n) => n.metadata?.name ?? '?');
      const enough = probe.count === undefined ? nodes.length > 0 : nodes.length >= probe.count;
      return { ok: enough && notReady.length === 0, detail: `${nodes.length - notReady.length}/${nodes.length} nodes Ready${notReady.length ? ` (not: ${notReady.join(', ')})` : ''} (tolerance: all${probe.count === undefined ? '' : `, at least ${probe.count}`})` };
    }
    default: {
      const never: never = probe;
      throw new Error(`unreachable probe ${JSON.stringify(never)}`);
    }
  }
}

/** Runs one probe; an error (API down, Service missing) is a probe that did not hold, with the reason. */
export async function runProbe(probe: ProbeSpec, ctx: ProbeContext): Promise<ProbeResult> {
  const timeMs = ctx.now();
  try {
    return { probe: probeName(probe), timeMs, ...(await measure(probe, ctx)) };
  } catch (error) {
    return { probe: probeName(probe), timeMs, ok: false, detail: `could not measure: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** Re-runs every probe until all hold at once or `timeoutMs` passes; returns the last round. */
export async function untilProbesHold(probes: readonly ProbeSpec[], ctx: ProbeContext, timeoutMs: number, stepMs = 250): Promise<ProbeResult[]> {
  const deadline = ctx.now() + timeoutMs;
  for (;;) {
    const round: ProbeResult[] = [];
    for (const p of probes) round.push(await runProbe(p, ctx));
    if (round.every((r) => r.ok) || ctx.now() >= deadline) return round;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}
