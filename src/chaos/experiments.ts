/**
 * The experiments `pocketkube chaos run NAME` can run: the engine's built-in experiments
 * (experiment/, the default `cluster-under-fire` among them), every control-plane fault (NAME is
 * the fault's name), every etcd fault (NAME is `etcd-<fault>`), and whatever a plugin registers here
 * directly. Faults registered later (by a plugin) become experiments at once: the list is built
 * when asked.
 */
import { controlPlaneFaultRegistry, runControlPlaneChaos } from './cluster/run.js';
import { etcdFaultRegistry } from './etcd/faults.js';
import { runEtcdChaos } from './etcd/run.js';
import { clusterUnderFire } from './experiment/cluster-under-fire.js';
import type { ExperimentSpec } from './experiment/define.js';
import { runExperiment } from './experiment/run.js';
import { builtinExperimentDir, loadExperimentDir } from './experiment/file.js';
import type { ChaosOutcome } from './outcome.js';
import { Registry, type Named } from './registry.js';

export type Placement = 'threads' | 'simulated';

export interface ExperimentRunOptions {
  readonly seed: number;
  readonly placement: Placement;
  /** Only for experiments with `silentKill: true`. */
  readonly silentKill?: boolean;
  /** Where an engine experiment writes its report files (report.json, history.jsonl, report.md, report.html). */
  readonly outDir?: string;
  /** Live progress lines. */
  readonly log?: (line: string) => void;
}

export interface ExperimentResult extends ChaosOutcome {
  /** A paragraph for the report: what ran and what was done to it. */
  readonly description: string;
  /** Control plane: fault to the first acknowledged write issued after it (undefined: none in budget). */
  readonly recoveryMs?: number | undefined;
  /** Report files the experiment wrote itself (engine experiments); the CLI then leaves them be. */
  readonly files?: readonly string[];
}

export interface Experiment extends Named {
  /** Where it can run; the first is its default. */
  readonly placements: readonly Placement[];
  readonly silentKill?: boolean;
  /** Engine experiments: the spec, so `chaos run --shrink` can re-run it with a pinned schedule. */
  readonly spec?: ExperimentSpec;
  run(options: ExperimentRunOptions): Promise<ExperimentResult>;
}

/** Experiments registered as such (not derived from a fault). */
export const experimentRegistry = new Registry<Experiment>('experiment');

export const DEFAULT_EXPERIMENT = 'cluster-under-fire';

/** An experiment of the engine (experiment/define.ts) as a runnable entry. */
export function engineExperiment(spec: ExperimentSpec): Experiment {
  return {
    name: spec.name, description: spec.description, placements: ['threads'], spec,
    async run(options) {
      const result = await runExperiment(spec, { seed: options.seed, ...(options.outDir === undefined ? {} : { out: options.outDir }), ...(options.log === undefined ? {} : { log: options.log }) });
      return result;
    },
  };
}

experimentRegistry.register(engineExperiment(clusterUnderFire()));

/**
 * Registers the built-in experiment files (examples/experiments: kill-etcd-leader,
 * majorities-ring, ...) under their titles, once. The CLI calls it; a library
 * user may, or may load any file with loadExperimentFile. Returns each one's title and path.
 */
export function registerBuiltinExperimentFiles(dir: string | undefined = builtinExperimentDir()): { readonly name: string; readonly file: string }[] {
  if (dir === undefined) return [];
  return loadExperimentDir(dir).map(({ file, spec }) => {
    if (experimentRegistry.get(spec.name) === undefined) experimentRegistry.register(engineExperiment(spec));
    return { name: spec.name, file };
  });
}
const ETCD_PREFIX = 'etcd-';

function controlPlaneExperiment(name: string): Experiment | undefined {
  const fault = controlPlaneFaultRegistry.get(name);
  if (fault === undefined) return undefined;
  return {
    name, description: fault.description, placements: ['threads'], ...(fault.silentKill ? { silentKill: true } : {}),
    async run(options) {
      const silentKill = options.silentKill ?? false;
      const result = await runControlPlaneChaos({ experiment: name, seed: options.seed, silentKill });
      const fate = name === 'isolate-serving-master'
        ? `was cut off from the other masters for at least ${result.schedule.faultMs} ms (clients could still reach its apiserver), then the partition healed`
        : name === 'kill-serving-master'
          ? silentKill ? 'lost power (no connection resets: the others had to time out), then came back' : 'was killed (its connections reset, as when a process dies), then came back'
          : `met the fault "${name}" (${fault.description})`;
      return {
        ...result,
        description: `A 3-master control plane on real threads: etcd (Raft, data on disk with fsync) and an apiserver on each master, behind a front door. Four clients applied and read ConfigMaps over HTTPS through the front door while the master whose apiserver served the last request ${fate}.`,
      };
    },
  };
}

function etcdExperiment(name: string): Experiment | undefined {
  if (!name.startsWith(ETCD_PREFIX)) return undefined;
  const fault = etcdFaultRegistry.get(name.slice(ETCD_PREFIX.length));
  if (fault === undefined) return undefined;
  return {
    name, description: `3-member etcd: ${fault.description}`, placements: ['threads', 'simulated'],
    async run(options) {
      const result = await runEtcdChaos({ fault: fault.name, seed: options.seed, placement: options.placement });
      return {
        ...result,
        description: `A 3-member etcd (Raft) on ${result.placement === 'threads' ? 'real worker threads, data on disk with fsync' : 'simulated placement (virtual time)'}; six clients read, wrote, compare-and-set and deleted 10 keys while the fault "${fault.name}" (${fault.description}) was injected and healed.`,
      };
    },
  };
}

export function findExperiment(name: string): Experiment | undefined {
  // Derived names first, as in experiments(): a registered experiment cannot shadow a fault's.
  return controlPlaneExperiment(name) ?? etcdExperiment(name) ?? experimentRegistry.get(name);
}

/** Every runnable experiment, built-ins first, in registration order. */
export function experiments(): Experiment[] {
  const derived = [
    ...controlPlaneFaultRegistry.names().map((n) => controlPlaneExperiment(n)!),
    ...etcdFaultRegistry.names().map((n) => etcdExperiment(`${ETCD_PREFIX}${n}`)!),
  ];
  // A registered experiment under a fault's name is unreachable (see findExperiment): not listed.
  return [...derived, ...experimentRegistry.list().filter((e) => !derived.some((d) => d.name === e.name))];
}
