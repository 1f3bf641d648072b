#!/usr/bin/env node
import { Command } from 'commander';
import { runDemo } from './demo.js';

const program = new Command();
program.name('pocketkube').description('A Kubernetes cluster inside one Node.js process.');

program
  .command('demo')
  .description('run the actor runtime on real threads: a ring across the cluster shape, a partition, a crash, a host kill')
  .action(async () => {
    const ok = await runDemo();
    process.exit(ok ? 0 : 1);
  });

await program.parseAsync(process.argv);
