// The `pocketkube` command line (src/cli/main.ts loads it once the Node.js version is checked).
import { relative as relativePath, resolve as resolvePath } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_EXPERIMENT, EXIT_CODES, experimentNames, flagProblem, parseRuns, parseShrinkMaxRuns, runChaosExperiment, runChaosSweep, sweepFlagProblem } from './chaos.js';
import { loadPlugin } from '../chaos/plugin.js';
import { engineExperiment, experimentRegistry, findExperiment, registerBuiltinExperimentFiles } from '../chaos/experiments.js';
import { experimentProbeNames, experimentTargetNames, experimentVerdictNames, ExperimentFileError, isExperimentFileName, loadExperimentFile } from '../chaos/experiment/file.js';
import { experimentFaultRegistry } from '../chaos/experiment/faults.js';
import { faultInfoOf, fileKey } from '../chaos/experiment/catalog.js';
import { runDemo } from './demo.js';
import { registerUp } from './up.js';
import { askControl, findControlSocket } from './control.js';
import { renderExplainTable } from '../scheduler/explain.js';

const program = new Command();
program.name('pocketkube').description('A Kubernetes cluster inside one Node.js process.');

function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0) throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  return parsed;
}

registerUp(program);

program
  .command('demo')
  .description('run the actor runtime on real threads: a ring across the cluster shape, a partition, a crash, a host kill')
  .action(async () => {
    const ok = await runDemo();
    process.exit(ok ? 0 : 1);
  });

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Loads every --plugin before the experiment name is checked (a plugin may add it). */
async function loadPlugins(files: readonly string[]): Promise<void> {
  for (const file of files) {
    try {
      const added = await loadPlugin(file);
      console.error(`plugin ${file}: registered ${added.length === 0 ? 'nothing' : added.join(', ')}`);
    } catch (error) {
      console.error(`pocketkube: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(EXIT_CODES.usage);
    }
  }
}

const PLACEMENTS = ['threads', 'simulated'] as const;

/** Registers the built-in experiment files (examples/experiments); returns each one's path by title. A broken one is pocketkube's bug and says so. */
function registerBuiltins(): ReadonlyMap<string, string> {
  try {
    return new Map(registerBuiltinExperimentFiles().map(({ name, file }) => [name, file]));
  } catch (error) {
    console.error(`pocketkube: a built-in experiment file is broken (please report it): ${error instanceof Error ? error.message : String(error)}`);
    return process.exit(EXIT_CODES.error);
  }
}

/** Loads an experiment file and registers it under its title; a bad file exits with the usage code and every problem. */
function registerExperimentFile(file: string, builtins: ReadonlyMap<string, string>): string {
  try {
    const spec = loadExperimentFile(file);
    // A built-in's own file (examples/experiments/kill-etcd-leader.yaml) is that built-in.
    if (builtins.get(spec.name) === resolvePath(file)) return spec.name;
    if (findExperiment(spec.name) !== undefined) throw new ExperimentFileError(file, [`${file}: title ${JSON.stringify(spec.name)} is already a built-in experiment: give it another title`]);
    experimentRegistry.register(engineExperiment(spec));
    return spec.name;
  } catch (error) {
    console.error(`pocketkube: ${error instanceof Error ? error.message : String(error)}`);
    return process.exit(EXIT_CODES.usage);
  }
}
/** An action's provider keys for `chaos list` (`target` first where it takes one); plugins' faults have none listed. */
function actionParameters(name: string): string {
  const info = faultInfoOf(name);
  if (info === undefined) return '';
  const keys = [...(info.target === 'none' ? [] : [info.target === 'pod' ? 'target (a pod)' : 'target']), ...Object.keys(info.params).map((k) => fileKey(k))];
  return keys.length === 0 ? '' : ` (${keys.join(', ')})`;
}
const PLUGIN_HELP = 'a .js/.mjs (or .ts, bundled with esbuild) module exporting register(api) that registers faults or experiments; repeatable';
const chaos = program.command('chaos').description('chaos experiments with a verdict and a report');
chaos
  .command('run')
  .argument('[experiment]', `an experiment (see "pocketkube chaos list") or an experiment file (.yaml, .yml, .json; see examples/experiments); default ${DEFAULT_EXPERIMENT}`, DEFAULT_EXPERIMENT)
  .option('--seed <n>', 'seed of the run: fault schedule and workload choices (the same seed replays a simulated run exactly)', integer, 1)
  .option('--placement <where>', 'threads (real threads, real disk) or simulated (virtual time; etcd-* experiments only)', 'threads')
  .option('--out <dir>', 'where the report goes', 'pocketkube-report')
  .option('--silent-kill', 'kill-serving-master: kill the master without connection resets (a power loss; the others find out by timeouts)', false)
  .option('--plugin <file>', PLUGIN_HELP, collect, [])
  .option('--runs <n>', 'a sweep: run seeds seed .. seed+N-1 one after another (1 to 1000), reports under OUT/seed-S/, then "k of N seeds failed" and the command replaying each failed seed')
  .option('--shrink', 'when a run fails, shrink its fault schedule (fewer faults, shorter, sooner) while the same check still fails, and write the smallest as OUT/shrunk.yaml (cluster-under-fire and experiment files)', false)
  .option('--shrink-max-runs <n>', 'with --shrink: at most this many re-runs, each a whole cluster (1 to 200)', '40')
  .addHelpText('after', `\nExit codes: ${EXIT_CODES.pass} pass, ${EXIT_CODES.fail} fail (or the run could not complete), ${EXIT_CODES.unknown} unknown (a check could not run: not a pass), ${EXIT_CODES.usage} bad usage.\nWith --runs: ${EXIT_CODES.fail} when any seed failed, else ${EXIT_CODES.unknown} when any was unknown, else ${EXIT_CODES.pass}.`)
  .action(async (argument: string, options: { seed: number; placement: string; out: string; silentKill: boolean; plugin: string[]; runs?: string; shrink: boolean; shrinkMaxRuns: string }) => {
    const usage = (problem: string) => {
      console.error(`pocketkube: ${problem}`);
      return process.exit(EXIT_CODES.usage);
    };
    // Counts first: a bad --runs is refused before any plugin or file is loaded.
    const runs = parseRuns(options.runs ?? '1');
    if ('problem' in runs) return usage(runs.problem);
    const shrinkMaxRuns = parseShrinkMaxRuns(options.shrinkMaxRuns);
    if ('problem' in shrinkMaxRuns) return usage(shrinkMaxRuns.problem);
    await loadPlugins(options.plugin);
    const builtins = registerBuiltins();
    const experiment = isExperimentFileName(argument) ? registerExperimentFile(argument, builtins) : argument;
    const placement = PLACEMENTS.find((p) => p === options.placement);
    if (placement === undefined) return usage(`--placement must be "threads" or "simulated", not "${options.placement}".`);
    const flags = { seed: options.seed, placement, out: options.out, silentKill: options.silentKill };
    const problem = flagProblem(experiment, flags) ?? sweepFlagProblem(experiment, { shrink: options.shrink });
    if (problem !== undefined) return usage(problem);
    const sweep = options.runs !== undefined || options.shrink;
    try {
      const status = sweep
        ? await runChaosSweep(experiment, { ...flags, runs: runs.value, shrink: options.shrink, shrinkMaxRuns: shrinkMaxRuns.value, argument, plugins: options.plugin })
        : await runChaosExperiment(experiment, flags);
      process.exit(EXIT_CODES[status]);
    } catch (error) {
      console.error(`pocketkube: the experiment could not run: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(EXIT_CODES.error);
    }
  });
chaos
  .command('list')
  .description('list the experiments, and the actions, targets, probes and verdicts an experiment file may use')
  .option('--plugin <file>', PLUGIN_HELP, collect, [])
  .action(async (options: { plugin: string[] }) => {
    await loadPlugins(options.plugin);
    const builtins = registerBuiltins();
    for (const name of experimentNames()) {
      const file = builtins.get(name);
      console.log(name === DEFAULT_EXPERIMENT ? `${name} (default)` : file === undefined ? name : `${name} (${relativePath(process.cwd(), file)})`);
    }
    // What an experiment file (examples/experiments) may use.
    console.log('');
    console.log('in experiment files:');
    for (const fault of experimentFaultRegistry.list()) console.log(`  action ${fault.name}${actionParameters(fault.name)}: ${fault.description}`);
    console.log(`  targets: ${experimentTargetNames.join(', ')}, a host (master-N, worker-N), a list of hosts, or { pod: { namespace, selector } }`);
    console.log(`  probes: ${experimentProbeNames.join(', ')}`);
    console.log(`  verdicts: ${experimentVerdictNames.join(', ')}`);
  });

const explain = program.command('explain').description('why the scheduler did what it did');
explain
  .command('pod')
  .argument('<namespace/name>', 'the pod')
  .option('--data-dir <dir>', 'the data directory of the running "pocketkube up" (default: the directory of $KUBECONFIG)')
  .description("print the scheduler's last decision for a pod of a running cluster: nodes as rows, each Filter's verdict and each Score plugin's score as columns")
  .action(async (pod: string, options: { dataDir?: string }) => {
    if (!/^[^/]+\/[^/]+$/.test(pod)) {
      console.error(`pocketkube explain pod: expected namespace/name (for example default/web-0), not "${pod}"`);
      return process.exit(2);
    }
    try {
      const answer = await askControl(findControlSocket(options.dataDir), { explainPod: pod });
      if (!answer.ok) throw new Error(answer.error);
      const d = answer.explain.decision;
      if (d === undefined) {
        console.error(`pocketkube explain pod: no scheduler has a decision for ${pod} (not created, not attempted yet, or bound by another scheduler)`);
        return process.exit(1);
      }
      console.log(`${renderExplainTable(d.table)}\n(decided by ${answer.explain.scheduler ?? 'a scheduler'} at ${new Date(d.atMs).toISOString()})`);
    } catch (error) {
      console.error(`pocketkube explain pod: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    }
  });

await program.parseAsync(process.argv);
