// Whole chaos runs in simulated placement (virtual time, the `fast` profile): a store broken on
// purpose must fail its verdict, a seed must replay, and a plugin's fault must be the one injected.
import test from 'ava';
import { fileURLToPath } from 'node:url';
import { SimulatedSystem } from '../../src/runtime/simulated.js';
import type { MemoryStorage } from '../../src/runtime/storage.js';
import {
  configMapChoices, controlPlaneFaultRegistry, controlPlaneSchedule, etcdFaultRegistry, findExperiment, loadPlugin, runEtcdChaos, toJsonl,
  type FaultContext, type FaultPlan,
} from '../../src/chaos/index.js';

const SHORT = { warmupMs: 300, faultMs: 800, recoveryMs: 500 } as const;

/**
 * Every member's storage acknowledges fsync without doing it (the data stays in the page cache),
 * then the power of every host goes: what was acknowledged after the break is gone.
 */
function ackBeforeFsync(brokenSync: boolean): () => FaultPlan {
  return () => ({
    async inject(ctx: FaultContext) {
      const system = ctx.cluster.system;
      if (!(system instanceof SimulatedSystem)) throw new Error('this fault needs simulated placement');
      const storages: MemoryStorage[] = ctx.cluster.members.map((m) => system.storageOf(m));
      if (brokenSync) for (const storage of storages) storage.sync = () => undefined;
      await ctx.driver.wait(500);
      for (const host of ctx.cluster.hosts) await system.killHost(host, { loseUnsynced: true, resetConnections: false });
      // The machines come back with honest disks.
      for (const storage of storages) Reflect.deleteProperty(storage, 'sync');
      ctx.notes.push(`${brokenSync ? 'acknowledged without fsync for 500 ms, then ' : ''}cut the power of every member`);
    },
    async heal(ctx: FaultContext) {
      for (const host of ctx.cluster.hosts) await ctx.cluster.system.restartHost(host);
    },
  });
}

etcdFaultRegistry.register({ name: 'test-ack-before-fsync', description: 'a store that acknowledges before fsync, then a power cut', plan: ackBeforeFsync(true) });
etcdFaultRegistry.register({ name: 'test-power-cut', description: 'the same power cut over an honest store', plan: ackBeforeFsync(false) });

test('a store that acknowledges before fsync loses acknowledged writes at a power cut, and the verdict says FAIL', async (t) => {
  for (const seed of [1, 2]) {
    const result = await runEtcdChaos({ fault: 'test-ack-before-fsync', seed, ...SHORT });
    t.is(result.verdict.status, 'fail', `seed ${seed}: ${result.verdict.summary}`);
    const status = (name: string) => result.verdict.results.find((r) => r.name === name)?.status;
    // The durability check names the loss; the history checkers see its consequences too.
    t.is(status('acked-writes-present'), 'fail', result.verdict.summary);
    t.true(result.lostAckedWrites > 0);
    t.is(status('linearizability'), 'fail', result.verdict.summary);
    t.is(status('revisions-monotonic'), 'fail', result.verdict.summary);
    t.is(status('watch-guarantees'), 'fail', result.verdict.summary);
  }
});

test('the same power cut over a store that syncs before acknowledging passes (the failure above is the fsync)', async (t) => {
  const result = await runEtcdChaos({ fault: 'test-power-cut', seed: 1, ...SHORT });
  t.is(result.verdict.status, 'pass', result.verdict.summary);
  t.is(result.lostAckedWrites, 0);
});

test('replay: a seed gives the same fault schedule, workload and trace twice; another seed differs', async (t) => {
  const run = (seed: number) => runEtcdChaos({ fault: 'kill-leader', seed, ...SHORT });
  const [a, b, c] = [await run(5), await run(5), await run(6)];
  t.is(toJsonl(a.history), toJsonl(b.history));
  t.deepEqual(a.notes, b.notes);
  t.deepEqual(a.verdict.results, b.verdict.results);
  t.is(a.runMs, b.runMs);
  t.not(toJsonl(a.history), toJsonl(c.history));
});

test('replay: kill-serving-master draws its schedule and every client\'s choices from the seed', (t) => {
  t.deepEqual(controlPlaneSchedule(3), controlPlaneSchedule(3));
  t.notDeepEqual(controlPlaneSchedule(3), controlPlaneSchedule(4));
  const choices = (seed: number, process: number) => {
    const next = configMapChoices(seed, process, 5);
    return Array.from({ length: 50 }, () => next());
  };
  t.deepEqual(choices(3, 0), choices(3, 0));
  t.notDeepEqual(choices(3, 0), choices(3, 1));
  t.notDeepEqual(choices(3, 0), choices(4, 0));
  const schedule = controlPlaneSchedule(3);
  t.true(schedule.warmupMs >= 800 && schedule.warmupMs < 1_200 && schedule.faultMs >= 2_500 && schedule.faultMs < 3_500);
});

test('a plugin file registers a fault, and the run injects it', async (t) => {
  const added = await loadPlugin(fileURLToPath(new URL('../fixtures/chaos-plugin.ts', import.meta.url)));
  t.deepEqual(added, ['etcd fault plugin-pause-follower']);
  const experiment = findExperiment('etcd-plugin-pause-follower');
  t.truthy(experiment);
  const result = await experiment!.run({ seed: 2, placement: 'simulated' });
  t.true(result.notes.some((n) => /^plugin fault: cut master-\d\/etcd off$/.test(n)), result.notes.join('\n'));
  t.true(result.notes.some((n) => /^plugin fault: healed/.test(n)));
  t.is(result.verdict.status, 'pass', result.verdict.summary);
  t.regex(result.description, /plugin-pause-follower/);
  // The JavaScript contract (default export) works too, and a name cannot be taken twice.
  t.deepEqual(await loadPlugin(fileURLToPath(new URL('../fixtures/chaos-plugin.mjs', import.meta.url))), ['control-plane fault plugin-noop', 'experiment plugin-undecided']);
  t.truthy(controlPlaneFaultRegistry.get('plugin-noop'));
  await t.throwsAsync(loadPlugin(fileURLToPath(new URL('../fixtures/chaos-plugin.mjs', import.meta.url))), { message: /already registered/ });
});
