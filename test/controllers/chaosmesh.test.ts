/**
 * Chaos Mesh's PodChaos, NetworkChaos and Schedule cores, pure: a tiny apiserver stand-in applies each reconcile's
 * actions to the objects and the loop runs until nothing is left to do, as the controller-manager would.
 */
import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import {
  matchPods, networkChaosController, originImageAnnotation, pickPods, podChaosController, podFailureImage, recordsFinalizer, reconcileNetworkChaos,
  reconcilePodChaos, reconcileSchedule, scheduleController, scheduleTimes, parseGoDurationMs,
} from '../../src/controllers/chaosmesh/index.js';
import { allActions, cacheFromObjects, type ApiAction, type ControllerDefinition } from '../../src/controllers/framework/index.js';
import { at, ctx, t0 } from './fixtures.js';

const pod = (name: string, labels: Record<string, string> = { app: 'web' }, o: { node?: string; ns?: string } = {}): KubeObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: o.ns ?? 'default', uid: `uid-${name}`, labels, resourceVersion: '1' },
  spec: { nodeName: o.node ?? 'node-1', containers: [{ name: 'nginx', image: 'nginx:1.14.2' }, { name: 'side', image: 'busybox' }] }, status: { phase: 'Running' },
});

const podChaos = (name: string, spec: Record<string, unknown>, o: { created?: number; deleting?: boolean } = {}): KubeObject => ({
  apiVersion: 'chaos-mesh.org/v1alpha1', kind: 'PodChaos',
  metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: '1', creationTimestamp: at(o.created ?? 0), ...(o.deleting ? { deletionTimestamp: at(1), finalizers: [recordsFinalizer] } : {}) },
  spec,
});

const keyOf = (o: KubeObject) => `${o.metadata?.namespace}/${o.metadata?.name}`;

/** Applies actions to `objects` (by kind/namespace/name); returns the non-API ones (events, kills). */
function apply(objects: Map<string, KubeObject>, actions: readonly ApiAction[]): ApiAction[] {
  const others: ApiAction[] = [];
  for (const a of actions) {
    switch (a.type) {
      case 'create': objects.set(`${a.body.kind}|${a.namespace}/${a.body.metadata?.name}`, { ...a.body, metadata: { ...a.body.metadata, uid: `uid-${a.body.metadata?.name}`, creationTimestamp: at(0) } }); break;
      case 'update': case 'updateStatus':
        // A deleted object goes once its last finalizer does, as the apiserver does.
        if (a.body.metadata?.deletionTimestamp !== undefined && (a.body.metadata.finalizers ?? []).length === 0) objects.delete(`${a.body.kind}|${keyOf(a.body)}`);
        else objects.set(`${a.body.kind}|${keyOf(a.body)}`, a.body);
        break;
      case 'delete': objects.delete(`${a.resource.kind}|${a.namespace}/${a.name}`); break;
      default: others.push(a);
    }
  }
  return others;
}

function run(def: ControllerDefinition, reconcile: typeof reconcilePodChaos, objects: Map<string, KubeObject>, key: string, nowMs = t0, rounds = 20): ApiAction[] {
  const others: ApiAction[] = [];
  for (let i = 0; i < rounds; i++) {
    const actions = allActions(reconcile(key, cacheFromObjects([...objects.values()], def.watches), ctx(nowMs)));
    const real = actions.filter((a) => a.type !== 'event');
    others.push(...apply(objects, actions));
    if (real.length === 0) return others;
  }
  throw new Error('the reconcile did not settle');
}

const status = (o: KubeObject | undefined) => o?.['status'] as { experiment: { desiredPhase: string; containerRecords?: { id: string; phase: string; injectedCount: number; recoveredCount: number }[] }; conditions: { type: string; status: string }[] };
const cond = (o: KubeObject | undefined, type: string) => status(o).conditions.find((c) => c.type === type)?.status;

test('selection: pods overrides the rest; namespaces default to the chaos object\'s; labels, expressions, nodes, phases all must match', (t) => {
  const pods = [pod('a'), pod('b', { app: 'db' }), pod('c', { app: 'web' }, { ns: 'other' }), pod('d', { app: 'web', tier: 'x' }, { node: 'node-2' })];
  const ids = (sel: unknown) => { const r = matchPods(sel, 'default', pods, () => undefined); return r.ok ? r.pods.map((p) => p.metadata?.name) : r.error; };
  t.deepEqual(ids({ labelSelectors: { app: 'web' } }), ['a', 'd']);
  t.deepEqual(ids({ namespaces: ['other'] }), ['c']);
  t.deepEqual(ids({ labelSelectors: { app: 'web' }, nodes: ['node-2'] }), ['d']);
  t.deepEqual(ids({ expressionSelectors: [{ key: 'tier', operator: 'Exists' }] }), ['d']);
  t.deepEqual(ids({ pods: { other: ['c'] }, labelSelectors: { app: 'db' } }), ['c']);
  t.deepEqual(ids({ podPhaseSelectors: ['Pending'] }), []);
  t.regex(String(ids({ fieldSelectors: { 'spec.nope': 'x' } })), /fieldSelectors: field label not supported/);
});

test('modes pick the same pods for the same uid: one, all, fixed, fixed-percent, random-max-percent; a bad value is named', (t) => {
  const pods = Array.from({ length: 10 }, (_, i) => pod(`p${i}`));
  const count = (mode: string, value?: string) => { const r = pickPods(pods, mode, value, 'uid-1'); return r.ok ? r.pods.length : r.error; };
  t.is(count('one'), 1);
  t.is(count('all'), 10);
  t.is(count('fixed', '3'), 3);
  t.is(count('fixed', '30'), 10);
  t.is(count('fixed-percent', '50'), 5);
  t.true((count('random-max-percent', '50') as number) <= 5);
  t.regex(String(count('fixed-percent', '150')), /needs value to be a percentage from 0 to 100, got "150"/);
  t.regex(String(count('fixed')), /needs value to be a whole number/);
  const names = (uid: string) => { const r = pickPods(pods, 'fixed', '3', uid); return r.ok ? r.pods.map((p) => p.metadata?.name) : []; };
  t.deepEqual(names('uid-1'), names('uid-1'));
  t.notDeepEqual(names('uid-1'), names('uid-2'));
});

test('pod-kill: finalizer, records, one delete with gracePeriod, then Stop with every record Injected', (t) => {
  const objects = new Map<string, KubeObject>([
    ['Pod|default/a', pod('a')], ['Pod|default/b', pod('b')], ['Pod|default/x', pod('x', { app: 'db' })],
    ['PodChaos|default/kill', podChaos('kill', { action: 'pod-kill', mode: 'all', selector: { labelSelectors: { app: 'web' } }, gracePeriod: 5 })],
  ]);
  const deletes: ApiAction[] = [];
  run(podChaosController, (key, cache, c) => {
    const r = reconcilePodChaos(key, cache, c);
    deletes.push(...allActions(r).filter((a) => a.type === 'delete'));
    return r;
  }, objects, 'default/kill');
  t.deepEqual(deletes.map((d) => d.type === 'delete' ? [d.name, d.options?.gracePeriodSeconds] : []), [['a', 5], ['b', 5]]);
  t.false(objects.has('Pod|default/a'));
  t.true(objects.has('Pod|default/x'), 'not selected');
  const chaos = objects.get('PodChaos|default/kill');
  t.deepEqual(chaos?.metadata?.finalizers, [recordsFinalizer]);
  t.is(status(chaos).experiment.desiredPhase, 'Stop');
  t.deepEqual(status(chaos).experiment.containerRecords?.map((r) => [r.id, r.phase, r.injectedCount]), [['default/a', 'Injected', 1], ['default/b', 'Injected', 1]]);
  t.is(cond(chaos, 'AllInjected'), 'True');
});

test('container-kill: one killContainer per selected container, through the pod\'s node', (t) => {
  const objects = new Map<string, KubeObject>([
    ['Pod|default/a', pod('a', { app: 'web' }, { node: 'node-2' })],
    ['PodChaos|default/ck', podChaos('ck', { action: 'container-kill', mode: 'one', selector: { labelSelectors: { app: 'web' } }, containerNames: ['nginx'] })],
  ]);
  const kills = run(podChaosController, reconcilePodChaos, objects, 'default/ck').filter((a) => a.type === 'killContainer');
  t.deepEqual(kills.map((k) => k.type === 'killContainer' ? [k.node, k.name, k.podUid, k.container] : []), [['node-2', 'a', 'uid-a', 'nginx']]);
  t.deepEqual(status(objects.get('PodChaos|default/ck')).experiment.containerRecords?.map((r) => r.id), ['default/a/nginx']);
});

test('pod-failure: images become pause until the duration ends, then are restored; records go Injected and back', (t) => {
  const objects = new Map<string, KubeObject>([
    ['Pod|default/a', pod('a')],
    ['PodChaos|default/pf', podChaos('pf', { action: 'pod-failure', mode: 'one', selector: { labelSelectors: { app: 'web' } }, duration: '30s' })],
  ]);
  run(podChaosController, reconcilePodChaos, objects, 'default/pf', t0 + 1_000);
  const failed = objects.get('Pod|default/a')!;
  const images = (p: KubeObject) => (p['spec'] as { containers: { image: string }[] }).containers.map((c) => c.image);
  t.deepEqual(images(failed), [podFailureImage, podFailureImage]);
  t.is(failed.metadata?.annotations?.[originImageAnnotation('nginx')], 'nginx:1.14.2');
  t.is(status(objects.get('PodChaos|default/pf')).experiment.desiredPhase, 'Run');
  t.is(reconcilePodChaos('default/pf', cacheFromObjects([...objects.values()], podChaosController.watches), ctx(t0 + 1_000)).requeueAfterMs, 29_000, 'looked at again when the duration ends');

  run(podChaosController, reconcilePodChaos, objects, 'default/pf', t0 + 31_000);
  const restored = objects.get('Pod|default/a')!;
  t.deepEqual(images(restored), ['nginx:1.14.2', 'busybox']);
  t.is(restored.metadata?.annotations?.[originImageAnnotation('nginx')], undefined);
  const chaos = objects.get('PodChaos|default/pf');
  t.deepEqual(status(chaos).experiment.containerRecords?.map((r) => [r.phase, r.injectedCount, r.recoveredCount]), [['Not Injected', 1, 1]]);
  t.is(cond(chaos, 'AllRecovered'), 'True');
});

test('a deleted pod-failure recovers its pods before it lets go of its finalizer', (t) => {
  const objects = new Map<string, KubeObject>([
    ['Pod|default/a', pod('a')],
    ['PodChaos|default/pf', podChaos('pf', { action: 'pod-failure', mode: 'one', selector: {} })],
  ]);
  run(podChaosController, reconcilePodChaos, objects, 'default/pf');
  const injected = objects.get('PodChaos|default/pf')!;
  objects.set('PodChaos|default/pf', { ...injected, metadata: { ...injected.metadata, deletionTimestamp: at(5) } });
  run(podChaosController, reconcilePodChaos, objects, 'default/pf');
  t.deepEqual((objects.get('Pod|default/a')!['spec'] as { containers: { image: string }[] }).containers.map((c) => c.image), ['nginx:1.14.2', 'busybox']);
  t.false(objects.has('PodChaos|default/pf'), 'its finalizer removed, it is gone');
});

test('no pod selected: a Warning and a retry, nothing recorded', (t) => {
  const r = reconcilePodChaos('default/k', cacheFromObjects([{ ...podChaos('k', { action: 'pod-kill', mode: 'one', selector: { labelSelectors: { app: 'none' } } }), metadata: { ...podChaos('k', {}).metadata, finalizers: [recordsFinalizer] } }], podChaosController.watches), ctx());
  t.is(r.requeueAfterMs, 2_000);
  t.deepEqual(allActions(r).map((a) => a.type === 'event' ? a.event.message : a.type), ['Failed to select pods: no pod is selected']);
});

test('durations and @every parse as Go and robfig/cron do', (t) => {
  t.is(parseGoDurationMs('1m30s'), 90_000);
  t.is(parseGoDurationMs('500ms'), 500);
  t.is(parseGoDurationMs('1.5h'), 5_400_000);
  t.is(parseGoDurationMs('30'), undefined);
  t.is(parseGoDurationMs('-1s'), undefined);
  t.deepEqual(scheduleTimes('@every 10s', t0, t0 + 25_000), { ok: true, mostRecentMs: t0 + 20_000, nextMs: t0 + 30_000 });
  t.deepEqual(scheduleTimes('@every 10s', t0, t0 + 5_000), { ok: true, mostRecentMs: undefined, nextMs: t0 + 10_000 });
  t.false(scheduleTimes('@every 10ms', t0, t0).ok);
  t.false(scheduleTimes('not a cron', t0, t0).ok);
});

test('Schedule: spawns an owned PodChaos per time, Forbid waits for the running one, history is trimmed to historyLimit', (t) => {
  const schedule: KubeObject = {
    apiVersion: 'chaos-mesh.org/v1alpha1', kind: 'Schedule', metadata: { name: 's', namespace: 'default', uid: 'uid-s', resourceVersion: '1', creationTimestamp: at(0) },
    spec: { schedule: '@every 10s', type: 'PodChaos', historyLimit: 1, podChaos: { action: 'pod-kill', mode: 'one', selector: {} } },
  };
  const objects = new Map<string, KubeObject>([['Schedule|default/s', schedule]]);
  const children = () => [...objects.values()].filter((o) => o.kind === 'PodChaos');
  const tick = (ms: number) => run(scheduleController, reconcileSchedule, objects, 'default/s', t0 + ms);
  tick(5_000);
  t.is(children().length, 0, 'not due yet');
  tick(10_000);
  t.deepEqual(children().map((c) => [c.metadata?.name, c.metadata?.labels?.['managed-by'], c.metadata?.ownerReferences?.[0]?.uid]), [[`s-${Math.floor((t0 + 10_000) / 1000)}`, 's', 'uid-s']]);
  t.deepEqual((objects.get('Schedule|default/s')!['status'] as { active: { name: string }[] }).active.map((a) => a.name), [children()[0]!.metadata?.name]);
  const events = tick(20_000);
  t.is(children().length, 1, 'Forbid: the first has not finished');
  t.true(events.some((e) => e.type === 'event' && e.event.reason === 'Forbid'));
  // A child finishes (a one-shot: every record injected).
  const finish = (c: KubeObject) => objects.set(`PodChaos|${keyOf(c)}`, { ...c, status: { experiment: { desiredPhase: 'Stop', containerRecords: [{ id: 'default/a', phase: 'Injected' }] } } });
  const first = children()[0]!;
  finish(first);
  tick(30_000);
  t.is(children().length, 2, 'the finished one is kept (historyLimit 1) beside the new one');
  finish(children().find((c) => c.metadata?.name !== first.metadata?.name)!);
  tick(40_000);
  const after = children().map((c) => c.metadata?.name);
  t.is(after.length, 2, `two finished: the oldest is deleted, and a third spawned: ${after.join(', ')}`);
  t.false(after.includes(first.metadata?.name), 'the oldest finished one was deleted');
});

const withIp = (p: KubeObject, ip: string): KubeObject => ({ ...p, status: { phase: 'Running', podIP: ip } });
const networkChaos = (name: string, spec: Record<string, unknown>, o: { deleting?: boolean } = {}): KubeObject => ({
  ...podChaos(name, spec, o), kind: 'NetworkChaos',
});
const rulesSet = (actions: readonly ApiAction[]) => actions.flatMap((a) => (a.type === 'setPodNetworkChaos' ? [{ pod: a.name, node: a.node, chaos: a.chaosId, rules: a.rules }] : []));

test('NetworkChaos partition with a target, both ways: each source and each target gets its side; deletion removes every rule before the finalizer goes', (t) => {
  const objects = new Map<string, KubeObject>([
    ['Pod|default/web-1', withIp(pod('web-1'), '10.0.1.1')],
    ['Pod|default/db-1', withIp(pod('db-1', { app: 'db' }, { node: 'node-2' }), '10.0.2.1')],
    ['Pod|default/db-2', withIp(pod('db-2', { app: 'db' }, { node: 'node-2' }), '10.0.2.2')],
    ['NetworkChaos|default/cut', networkChaos('cut', { action: 'partition', mode: 'all', direction: 'both', selector: { labelSelectors: { app: 'web' } }, target: { mode: 'all', selector: { labelSelectors: { app: 'db' } } } })],
  ]);
  const injected = rulesSet(run(networkChaosController, reconcileNetworkChaos, objects, 'default/cut'));
  t.deepEqual(injected, [
    { pod: 'web-1', node: 'node-1', chaos: 'uid-cut', rules: [{ action: 'partition', direction: 'egress', peers: ['10.0.2.1', '10.0.2.2'] }, { action: 'partition', direction: 'ingress', peers: ['10.0.2.1', '10.0.2.2'] }] },
    { pod: 'db-1', node: 'node-2', chaos: 'uid-cut', rules: [{ action: 'partition', direction: 'ingress', peers: ['10.0.1.1'] }, { action: 'partition', direction: 'egress', peers: ['10.0.1.1'] }] },
    { pod: 'db-2', node: 'node-2', chaos: 'uid-cut', rules: [{ action: 'partition', direction: 'ingress', peers: ['10.0.1.1'] }, { action: 'partition', direction: 'egress', peers: ['10.0.1.1'] }] },
  ]);
  const chaos = objects.get('NetworkChaos|default/cut');
  t.deepEqual(status(chaos).experiment.containerRecords?.map((r) => [r.id, (r as { selectorKey?: string }).selectorKey, r.phase]), [
    ['default/web-1', '.', 'Injected'], ['default/db-1', '.Target', 'Injected'], ['default/db-2', '.Target', 'Injected'],
  ]);
  t.is(cond(chaos, 'AllInjected'), 'True');
  objects.set('NetworkChaos|default/cut', { ...chaos!, metadata: { ...chaos!.metadata, deletionTimestamp: at(5) } });
  const removed = rulesSet(run(networkChaosController, reconcileNetworkChaos, objects, 'default/cut', t0 + 5_000));
  t.deepEqual(removed.map((r) => [r.pod, r.rules]), [['web-1', []], ['db-1', []], ['db-2', []]]);
  t.false(objects.has('NetworkChaos|default/cut'), 'the finalizer let go once every rule was removed');
});

test('NetworkChaos delay, loss and duplicate shape the sources only, in their direction; without a target every peer; external targets are peers', (t) => {
  const base = () => new Map<string, KubeObject>([['Pod|default/web-1', withIp(pod('web-1'), '10.0.1.1')], ['Pod|default/db-1', withIp(pod('db-1', { app: 'db' }), '10.0.2.1')]]);
  const rulesOf = (spec: Record<string, unknown>) => {
    const objects = base();
    objects.set('NetworkChaos|default/n', networkChaos('n', { mode: 'all', selector: { labelSelectors: { app: 'web' } }, ...spec }));
    return rulesSet(run(networkChaosController, reconcileNetworkChaos, objects, 'default/n')).map((r) => [r.pod, r.rules]);
  };
  t.deepEqual(rulesOf({ action: 'delay', delay: { latency: '100ms', jitter: '10ms', correlation: '50' } }), [['web-1', [{ action: 'delay', direction: 'egress', latencyMs: 100, jitterMs: 10 }]]]);
  t.deepEqual(rulesOf({ action: 'loss', direction: 'from', loss: { loss: '25' }, target: { mode: 'all', selector: { labelSelectors: { app: 'db' } } } }), [
    ['web-1', [{ action: 'loss', direction: 'ingress', peers: ['10.0.2.1'], probability: 0.25 }]],
  ], 'a target of a loss gets no rules of its own');
  t.deepEqual(rulesOf({ action: 'duplicate', direction: 'both', duplicate: { duplicate: '40' }, externalTargets: ['10.9.0.1'] }), [
    ['web-1', [{ action: 'duplicate', direction: 'egress', peers: ['10.9.0.1'], probability: 0.4 }, { action: 'duplicate', direction: 'ingress', peers: ['10.9.0.1'], probability: 0.4 }]],
  ]);
});

test('NetworkChaos problems are Warnings naming the fix: a delay without latency, a bad percentage, a host name as external target; a hostNetwork pod is not injected', (t) => {
  const warningOf = (spec: Record<string, unknown>) => {
    const objects = new Map<string, KubeObject>([['Pod|default/web-1', withIp(pod('web-1'), '10.0.1.1')], ['NetworkChaos|default/n', networkChaos('n', { mode: 'all', selector: {}, ...spec })]]);
    const events = run(networkChaosController, reconcileNetworkChaos, objects, 'default/n').filter((a) => a.type === 'event');
    return events.map((e) => (e.type === 'event' ? e.event.message : ''));
  };
  t.deepEqual(warningOf({ action: 'delay' }), ['action delay needs delay.latency, a duration such as 100ms']);
  t.deepEqual(warningOf({ action: 'loss', loss: { loss: '250' } }), ['action loss needs loss.loss, a percentage from 0 to 100 such as "25"']);
  t.deepEqual(warningOf({ action: 'partition', externalTargets: ['example.com'] }), ['externalTargets: "example.com" is not an IPv4 address (host names and CIDRs are not supported here)']);
  const host = withIp(pod('node-agent'), '127.10.1.1');
  const objects = new Map<string, KubeObject>([
    ['Pod|default/node-agent', { ...host, spec: { ...(host['spec'] as object), hostNetwork: true } }],
    ['NetworkChaos|default/n', networkChaos('n', { action: 'partition', mode: 'all', selector: {} })],
  ]);
  t.deepEqual(rulesSet(run(networkChaosController, reconcileNetworkChaos, objects, 'default/n')), []);
  const record = status(objects.get('NetworkChaos|default/n')).experiment.containerRecords?.[0] as { events?: { type: string; message?: string }[] } | undefined;
  t.like(record?.events?.[0], { type: 'Failed', message: 'the pod uses the host\'s network: not injected' });
});

test('Schedule of type NetworkChaos: spawns NetworkChaos from spec.networkChaos; an unserved type is a Warning naming the served ones', (t) => {
  const schedule = (type: string): KubeObject => ({
    apiVersion: 'chaos-mesh.org/v1alpha1', kind: 'Schedule', metadata: { name: 's', namespace: 'default', uid: 'uid-s', resourceVersion: '1', creationTimestamp: at(0) },
    spec: { schedule: '@every 10s', type, networkChaos: { action: 'delay', mode: 'all', selector: {}, delay: { latency: '50ms' }, duration: '5s' } },
  });
  const objects = new Map<string, KubeObject>([['Schedule|default/s', schedule('NetworkChaos')]]);
  run(scheduleController, reconcileSchedule, objects, 'default/s', t0 + 10_000);
  const spawned = [...objects.values()].filter((o) => o.kind === 'NetworkChaos');
  t.deepEqual(spawned.map((c) => [c.apiVersion, c.metadata?.name, (c['spec'] as { action: string }).action]), [['chaos-mesh.org/v1alpha1', `s-${Math.floor((t0 + 10_000) / 1000)}`, 'delay']]);
  t.is((objects.get('Schedule|default/s')!['status'] as { active: { kind: string }[] }).active[0]!.kind, 'NetworkChaos');
  const other = new Map<string, KubeObject>([['Schedule|default/s', schedule('StressChaos')]]);
  const events = run(scheduleController, reconcileSchedule, other, 'default/s', t0 + 10_000);
  t.true(events.some((e) => e.type === 'event' && e.event.message === 'type "StressChaos" is not supported: PodChaos or NetworkChaos'));
});
