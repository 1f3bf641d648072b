/**
 * Performs what a reconcile returned (src/controllers' ReconcileResult) through a KubeClient,
 * with each step's execution semantics: sequential, upstream's slowStartBatch, or parallel.
 * Expectations are set before the calls and lowered for calls that failed or never ran, so a
 * create that never happened is not waited for. Every call first asks the fence: an instance
 * that is no longer the leader sends nothing more (DESIGN §7).
 */
import type { KubeClient } from '../../src/client/client.js';
import { isNotFound } from '../../src/client/errors.js';
import { killPodContainer, setPodNetworkChaos, type CriAsk } from '../../src/cri/kill.js';
import type {
  ActionStep, ApiAction, EventRecord, Expectations, ReconcileResult,
} from '../../src/controllers/framework/index.js';

export interface ActionOutcome {
  readonly action: ApiAction;
  /** `skipped`: a requireAbsent guard found the object still there (not an error). `fenced`: not sent, no longer leading. */
  readonly result: 'ok' | 'failed' | 'skipped' | 'fenced';
  readonly error?: unknown;
}

export interface ExecuteOptions {
  readonly client: KubeClient;
  readonly expectations: Expectations;
  readonly nowMs: number;
  /** Checked right before every call: false means this instance must not write any more. */
  readonly mayWrite: () => boolean;
  readonly onAction?: (outcome: ActionOutcome) => void;
  /** Asks a node's container runtime (killContainer actions); absent, those actions fail. */
  readonly cri?: CriAsk;
  /** Records an `event` action, and an action's `onSuccessEvent` once it succeeded (name: the object's, generated names included). */
  readonly recordEvent?: (event: EventRecord, objectName: string | undefined) => void;
}

/** True when every step that had to run succeeded (the key is then not requeued for an error). */
export async function executeResult(result: ReconcileResult, o: ExecuteOptions): Promise<boolean> {
  if (result.expectations !== undefined) o.expectations.set(result.expectations, o.nowMs);
  let failed = false;
  for (const step of result.steps) {
    if (failed && step.always !== true) {
      lowerExpectations(step.actions, o);
      continue;
    }
    if (!(await runStep(step, o))) failed = true;
  }
  return !failed;
}

function lowerExpectations(actions: readonly ApiAction[], o: ExecuteOptions): void {
  for (const a of actions) if (a.type !== 'event' && a.onFailure !== undefined) o.expectations.actionFailed(a.onFailure);
}

async function runStep(step: ActionStep, o: ExecuteOptions): Promise<boolean> {
  const ex = step.execution;
  switch (ex.kind) {
    case 'sequential':
      for (const [i, a] of step.actions.entries()) {
        if (!(await runAction(a, o))) {
          lowerExpectations(step.actions.slice(i + 1), o);
          return false;
        }
      }
      return true;
    case 'parallel':
      return (await Promise.all(step.actions.map((a) => runAction(a, o)))).every(Boolean);
    case 'slowStart': {
      let done = 0;
      for (let batch = ex.initialBatch; done < step.actions.length; batch *= 2) {
        const chunk = step.actions.slice(done, done + batch);
        done += chunk.length;
        if (!(await Promise.all(chunk.map((a) => runAction(a, o)))).every(Boolean)) {
          lowerExpectations(step.actions.slice(done), o);
          return false;
        }
      }
      return true;
    }
    default: {
      const never: never = ex;
      throw new Error(`execution ${String(never)}`);
    }
  }
}

/** The live check behind `requireAbsent`: true when every identity is gone (404, or the name now has another uid). */
async function allAbsent(a: ApiAction, client: KubeClient): Promise<boolean> {
  if (a.type === 'event' || a.requireAbsent === undefined) return true;
  for (const id of a.requireAbsent) {
    try {
      const live = await client.get(id.resource, id.namespace, id.name);
      if (live.metadata?.uid === id.uid) return false;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  return true;
}

/** Performs one call; a create answers the created object's name (generateName resolved). */
async function call(a: ApiAction, client: KubeClient, cri: CriAsk | undefined): Promise<string | undefined> {
  switch (a.type) {
    case 'create': return (await client.create(a.resource, a.body, a.namespace === undefined ? {} : { namespace: a.namespace })).metadata?.name;
    case 'update': await client.update(a.resource, a.body, a.subresource === undefined ? {} : { subresource: a.subresource }); return;
    case 'updateStatus': await client.updateStatus(a.resource, a.body); return;
    case 'patch':
      await client.patch(a.resource, a.namespace, a.name, a.patch, { type: a.patchType, ...(a.subresource === undefined ? {} : { subresource: a.subresource }) });
      return;
    case 'delete': await client.delete(a.resource, a.namespace, a.name, a.options ?? {}); return;
    case 'evict': await client.evictPod(a.namespace, a.name); return;
    case 'killContainer':
      if (cri === undefined) throw new Error(`kill container ${a.container} of ${a.namespace}/${a.name}: this instance cannot reach the nodes' container runtimes`);
      await killPodContainer(cri, a.node, a.podUid, a.container);
      return;
    case 'setPodNetworkChaos':
      if (cri === undefined) throw new Error(`network chaos on ${a.namespace}/${a.name}: this instance cannot reach the nodes' container runtimes`);
      await setPodNetworkChaos(cri, a.node, a.podUid, a.chaosId, a.rules);
      return;
    case 'deleteCollection': await client.deleteCollection(a.resource, { namespace: a.namespace, ...(a.options ?? {}) }); return;
    // Recorded by the caller's event recorder (aggregated), see runAction.
    case 'event': return;
    default: {
      const never: never = a;
      throw new Error(`action ${String(never)}`);
    }
  }
}

async function runAction(a: ApiAction, o: ExecuteOptions): Promise<boolean> {
  const report = (outcome: ActionOutcome): void => o.onAction?.(outcome);
  if (!o.mayWrite()) {
    if (a.type !== 'event' && a.onFailure !== undefined) o.expectations.actionFailed(a.onFailure);
    report({ action: a, result: 'fenced' });
    return false;
  }
  try {
    if (!(await allAbsent(a, o.client))) {
      report({ action: a, result: 'skipped' });
      return true;
    }
    // The guard's read took time: the fence is asked again right before the write.
    if (!o.mayWrite()) throw new FencedError();
    const created = await call(a, o.client, o.cri);
    if (a.type === 'event') o.recordEvent?.(a.event, undefined);
    else if (a.onSuccessEvent !== undefined) o.recordEvent?.(a.onSuccessEvent, created ?? nameOf(a));
    report({ action: a, result: 'ok' });
    return true;
  } catch (error) {
    if (a.type !== 'event' && a.onFailure !== undefined) o.expectations.actionFailed(a.onFailure);
    report({ action: a, result: error instanceof FencedError ? 'fenced' : 'failed', error });
    return false;
  }
}

function nameOf(a: Exclude<ApiAction, { type: 'event' }>): string | undefined {
  switch (a.type) {
    case 'create': return a.body.metadata?.name;
    case 'update': case 'updateStatus': return a.body.metadata?.name;
    case 'patch': case 'delete': case 'evict': case 'killContainer': case 'setPodNetworkChaos': return a.name;
    case 'deleteCollection': return undefined;
    default: {
      const never: never = a;
      throw new Error(`action ${String(never)}`);
    }
  }
}

class FencedError extends Error {
  constructor() {
    super('no longer the leader: write not sent');
  }
}
