#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_EXPERIMENT, EXPERIMENTS, isExperiment, runChaosExperiment } from './chaos.js';
import { runDemo } from './demo.js';
import { registerUp } from './up.js';

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

const chaos = program.command('chaos').description('chaos experiments with a verdict and a report');
chaos
  .command('run')
  .argument('[experiment]', `one of: ${EXPERIMENTS.join(', ')}`, DEFAULT_EXPERIMENT)
  .option('--seed <n>', 'seed of the run (the same seed replays a simulated run exactly)', integer, 1)
  .option('--placement <where>', 'threads (real threads, real disk) or simulated (virtual time; etcd-* experiments only)', 'threads')
  .option('--out <dir>', 'where the report goes', 'pocketkube-report')
  .option('--silent-kill', `${DEFAULT_EXPERIMENT}: kill the master without connection resets (a power loss; the others find out by timeouts)`, false)
  .action(async (experiment: string, options: { seed: number; placement: string; out: string; silentKill: boolean }) => {
    if (!isExperiment(experiment)) {
      console.error(`pocketkube: unknown experiment "${experiment}". Run "pocketkube chaos list" to see the experiments.`);
      process.exit(2);
    }
    if (options.silentKill && experiment !== DEFAULT_EXPERIMENT) {
      console.error(`pocketkube: --silent-kill applies to ${DEFAULT_EXPERIMENT} only; drop it for ${experiment} (etcd-* experiments kill silently in half their seeds).`);
      process.exit(2);
    }
    if (options.placement !== 'threads' && options.placement !== 'simulated') {
      console.error(`pocketkube: --placement must be "threads" or "simulated", not "${options.placement}".`);
      process.exit(2);
    }
    try {
      const ok = await runChaosExperiment(experiment, { seed: options.seed, placement: options.placement, out: options.out, silentKill: options.silentKill });
      process.exit(ok ? 0 : 1);
    } catch (error) {
      console.error(`pocketkube: the experiment could not run: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    }
  });
chaos
  .command('list')
  .description('list the experiments')
  .action(() => {
    for (const name of EXPERIMENTS) console.log(name === DEFAULT_EXPERIMENT ? `${name} (default)` : name);
  });

await program.parseAsync(process.argv);
