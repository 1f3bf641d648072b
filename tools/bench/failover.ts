/**
 * Failover trials for a leader-elected control plane component (controller-manager, scheduler):
 * kill the master of the active instance, time until another instance's term starts, restart the
 * master and wait until it serves writes and etcd is whole again before the next kill. Shared by
 * the controllers and scheduler benchmarks.
 */
import type { Cluster } from '../../src/cluster/index.js';
import { KubeClient } from '../../src/client/index.js';
import type { MemberStatus } from '../../src/etcd/messages.js';
import { address } from '../../src/primitives/address.js';
import { sleep } from '../../src/primitives/clock.js';
import { RealClock, wallClock } from '../../src/runtime/real-clock.js';

export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(wallClock, everyMs);
  }
}

export async function etcdStatuses(cluster: Cluster): Promise<MemberStatus[]> {
  const answers = await Promise.all(cluster.masters.map((m) => cluster.system.ask<{ type: 'statusReply'; status: MemberStatus }>(address(m, 'etcd'), { type: 'status' }, { timeoutMs: 300 })
    .then((r) => r.status, () => undefined)));
  return answers.filter((s): s is MemberStatus => s !== undefined);
}

/** One instance as the trials see it: who, whether active, when its latest term started (wall ms). */
export interface InstanceView { readonly identity: string; readonly active: boolean; readonly lastTermStartMs: number | undefined }

export interface FailoverComponent {
  readonly name: string;
  readonly instances: (timeoutMs: number) => Promise<readonly InstanceView[]>;
}

/** Kills the active instance's master `kills` times; returns each takeover time (ms). */
export async function failoverTrials(cluster: Cluster, client: KubeClient, component: FailoverComponent, kills: number): Promise<number[]> {
  const active = async (except?: string) => {
    const a = (await component.instances(300)).filter((s) => s.active);
    return a.length === 1 && a[0]!.identity !== except ? a[0] : undefined;
  };
  const failovers: number[] = [];
  for (let k = 0; k < kills; k++) {
    const holder = await until(`one active ${component.name}`, () => active(), 20_000, 50);
    const victim = holder.identity.split('/')[0]!;
    const etcdBefore = (await etcdStatuses(cluster)).map((m) => `${m.id}:${m.role}@${m.term} applied ${m.applied}`).join(', ');
    const killedAt = Date.now();
    await cluster.system.killHost(victim);
    // The control plane's own recovery, for comparison: the first write acknowledged after the kill.
    let writableMs: number | undefined;
    void until('a write', () => client.create({ apiVersion: 'v1', kind: 'ConfigMap' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'probe-', namespace: 'default' } })
      .then(() => { writableMs = Date.now() - killedAt; return true; }, () => undefined), 30_000, 20).catch(() => undefined);
    const successor = await until('a successor', () => active(holder.identity), 60_000, 50);
    const ms = successor.lastTermStartMs! - killedAt;
    failovers.push(ms);
    console.log(`  kill ${k + 1}/${kills}: ${victim} killed, ${successor.identity} active after ${Math.round(ms)} ms (API writable after ${writableMs === undefined ? 'not yet' : `${writableMs} ms`}); etcd before: ${etcdBefore}`);
    await cluster.system.restartHost(victim);
    const back = new KubeClient({ transport: cluster.apiTransport({ servers: [address(victim, 'apiserver')], attemptTimeoutMs: 2_000 }), clock: new RealClock() });
    const restartedAt = Date.now();
    await until(`${victim} serving writes again`, () => back.create({ apiVersion: 'v1', kind: 'ConfigMap' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'back-', namespace: 'default' } })
      .then(() => true, () => undefined), 60_000, 200);
    console.log(`    ${victim} restarted; its apiserver acknowledged a write after ${Date.now() - restartedAt} ms`);
    await until(`three ${component.name} instances`, async () => ((await component.instances(500)).length === cluster.masters.length ? true : undefined), 20_000, 200);
    // The next kill needs the restarted member back in the quorum, caught up with the leader.
    await until('etcd whole again', async () => {
      const all = await etcdStatuses(cluster);
      const leaderStatus = all.find((m) => m.role === 'leader');
      return all.length === cluster.masters.length && leaderStatus !== undefined && all.every((m) => m.leader === leaderStatus.id && m.applied >= leaderStatus.commit - 10) ? true : undefined;
    }, 60_000, 200);
  }
  return failovers;
}
