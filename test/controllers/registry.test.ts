import test from 'ava';
import { builtInControllers, ControllerRegistry, replicaSetController, type ControllerDefinition } from '../../src/controllers/index.js';

test('the built-in registry names every controller once; definitions watch their primary kind', (t) => {
  const reg = builtInControllers();
  t.deepEqual(reg.names(), [
    'deployment', 'replicaset', 'endpoints', 'endpointslice', 'namespace', 'serviceaccount', 'resourcequota', 'garbage-collector', 'job',
    'node-lifecycle', 'taint-eviction-controller', 'node-ipam-controller', 'statefulset', 'daemonset', 'cronjob', 'disruption', 'horizontalpodautoscaling',
  ]);
  t.throws(() => reg.register(replicaSetController), { message: /already registered/ });
  const bad: ControllerDefinition = { ...replicaSetController, name: 'bad', watches: [] };
  t.throws(() => new ControllerRegistry().register(bad), { message: /must watch its primary kind/ });
  t.throws(() => new ControllerRegistry().register({ ...replicaSetController, name: 'Bad Name' }), { message: /lower-case/ });
});
