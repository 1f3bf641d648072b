/**
 * The `operator` actor kind: a user's controller (src/controllers/operator.ts) on the
 * controller-manager's engine, with its own Lease so that one instance across the masters is
 * active. The definition holds functions, so it cannot travel in the config: the actor imports the
 * user's module (a file URL) when it is created, after the preloads that make a TypeScript module
 * importable in this worker (the process's TS loader; workers start without the parent's flags).
 */
import { findOperator, operatorLease } from '../../src/controllers/operator.js';
import { validateControllerManagerMessage, type ControllerManagerMessage, type OperatorConfig } from '../../src/controllers/messages.js';
import { defineActor } from '../../src/runtime/actor.js';
import { ControllerManagerBehaviour } from './actor.js';

export const operatorActor = defineActor<ControllerManagerMessage, OperatorConfig>({
  kind: 'operator',
  validate: validateControllerManagerMessage,
  create: async (context, config) => {
    for (const url of config.preload ?? []) await import(url);
    const exports = (await import(config.module)) as Record<string, unknown>;
    const operator = findOperator(exports, config.name);
    // A config naming what the module does not export is a programming error: crash (the supervisor reports it).
    if (operator === undefined) throw new Error(`operator: ${config.module} exports no operator named ${JSON.stringify(config.name)} (export the value defineOperator returned)`);
    return new ControllerManagerBehaviour(context, config, {
      controllers: [operator.definition], lease: operatorLease(config.name), userAgent: `operator-${config.name}/v0 (pocketkube)`,
    });
  },
});
