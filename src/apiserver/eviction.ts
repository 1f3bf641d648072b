/**
 * POST pods/{name}/eviction honouring PodDisruptionBudgets, as kube-apiserver's eviction REST
 * (pkg/registry/core/pod/storage/eviction.go): a pod that is not running (Pending, Succeeded,
 * Failed) or already terminating is deleted without a budget check; otherwise the one PDB that
 * selects it must allow a disruption — its status.disruptionsAllowed is decremented and the pod
 * recorded in status.disruptedPods in one compare-and-swap, then the pod is deleted. No budget
 * left: 429 with the DisruptionBudget cause; two budgets for one pod: 500, as upstream.
 */
import {
  asRecord, asString, badRequest, decodeEviction, formatRfc3339, labelSelectorFromObject, lookupKind, matchesLabels,
  statusFailure, tooManyRequests, type JsonObject,
} from '../api/index.js';
import type { ApiResponse } from '../client/api-transport.js';
import { deleteOptionsOf, type Registry } from './registry.js';
import { decodeObjectBody, dryRunOf, jsonResponse, statusResponse, successStatus } from './request.js';
import type { RestCall } from './rest.js';
import { failOf, okOf, type Outcome, type Stored } from './storage.js';

/** Upstream retries the PDB update on conflict this many times before answering 429. */
const maxPdbUpdateAttempts = 5;

const pdbInfo = () => {
  const info = lookupKind('policy/v1', 'PodDisruptionBudget');
  if (info === undefined) throw new Error('policy/v1 PodDisruptionBudget is not served');
  return info;
};

function budgetExempt(pod: JsonObject): boolean {
  if (asRecord(pod['metadata'])?.['deletionTimestamp'] !== undefined) return true;
  const phase = asString(asRecord(pod['status'])?.['phase']);
  return phase === 'Pending' || phase === 'Succeeded' || phase === 'Failed' || phase === undefined;
}

async function budgetsFor(r: Registry, namespace: string, pod: JsonObject): Promise<Outcome<Stored[]>> {
  const listed = await r.storage.list(pdbInfo(), namespace);
  if (!listed.ok) return listed;
  const labels = asRecord(asRecord(pod['metadata'])?.['labels']) as Record<string, string> | undefined;
  return okOf(listed.value.items.filter((pdb) => {
    const sel = labelSelectorFromObject(asRecord(pdb.object['spec'])?.['selector']);
    // policy/v1: a PDB without a selector selects nothing; an empty selector selects every pod.
    if (!sel.ok || sel.value === 'nothing') return false;
    return matchesLabels(sel.value, labels ?? {});
  }));
}

/** Takes one disruption from the budget (CAS on its resourceVersion), or says why not. */
async function takeDisruption(r: Registry, pdb: Stored, podName: string, nowMs: number, dryRun: boolean): Promise<Outcome<undefined>> {
  const info = pdbInfo();
  let current = pdb;
  for (let attempt = 0; attempt < maxPdbUpdateAttempts; attempt++) {
    const o = current.object;
    const status = asRecord(o['status']) ?? {};
    const generation = asRecord(o['metadata'])?.['generation'];
    const observed = status['observedGeneration'];
    if (typeof generation === 'number' && (typeof observed !== 'number' || observed < generation)) {
      return failOf(tooManyRequests('Cannot evict pod as it would violate the pod\'s disruption budget. The disruption budget is still being processed by the server.', 10));
    }
    const allowed = typeof status['disruptionsAllowed'] === 'number' ? status['disruptionsAllowed'] : 0;
    if (allowed <= 0) {
      const name = asString(asRecord(o['metadata'])?.['name']) ?? '';
      const failure = tooManyRequests('Cannot evict pod as it would violate the pod\'s disruption budget.', 0);
      return failOf({ ...failure, details: { causes: [{ reason: 'DisruptionBudget', message: `The disruption budget ${name} needs ${String(status['desiredHealthy'] ?? '?')} healthy pods and has ${String(status['currentHealthy'] ?? '?')} currently` }] } });
    }
    if (dryRun) return okOf(undefined);
    const disruptedPods = { ...(asRecord(status['disruptedPods']) ?? {}), [podName]: formatRfc3339(nowMs) };
    const updated: JsonObject = { ...o, status: { ...status, disruptionsAllowed: allowed - 1, disruptedPods } };
    const written = await r.storage.update(info, current.key, updated, current.modRevision, asString(asRecord(o['metadata'])?.['name']) ?? '');
    if (written.ok) return okOf(undefined);
    if (written.status.reason !== 'Conflict') return written;
    const again = await r.storage.get(current.key);
    if (!again.ok) return again;
    if (again.value === undefined) return okOf(undefined);
    current = again.value;
  }
  return failOf(tooManyRequests('Cannot evict pod: the disruption budget kept changing; try again', 1));
}

export async function postEviction(r: Registry, c: RestCall): Promise<ApiResponse> {
  const body = decodeObjectBody(c.body, c.headers['content-type']);
  if (!body.ok) return statusResponse(body.status);
  const ev = decodeEviction(body.value);
  if ('error' in ev) return statusResponse(badRequest(ev.error));
  if (ev.name !== c.route.name) return statusResponse(badRequest('name in URL does not match name in Eviction object'));
  const options = deleteOptionsOf(ev.deleteOptions, {});
  if (!options.ok) return statusResponse(options.status);
  const dryRun = dryRunOf(c.query);
  if (!dryRun.ok) return statusResponse(dryRun.status);
  const namespace = c.route.namespace!;
  const pod = await r.get(c.route.info, namespace, ev.name);
  if (!pod.ok) return statusResponse(pod.status);
  if (!budgetExempt(pod.value.object)) {
    const budgets = await budgetsFor(r, namespace, pod.value.object);
    if (!budgets.ok) return statusResponse(budgets.status);
    if (budgets.value.length > 1) {
      return statusResponse(statusFailure(500, 'InternalError', 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.'));
    }
    const budget = budgets.value[0];
    if (budget !== undefined) {
      const taken = await takeDisruption(r, budget, ev.name, c.nowMs, dryRun.value);
      if (!taken.ok) return statusResponse(taken.status);
    }
  }
  const out = await r.delete(c.route.info, namespace, ev.name, options.value, dryRun.value);
  return out.ok ? jsonResponse(201, successStatus(201)) : statusResponse(out.status);
}
