/**
 * pocketkube's controllers as pure reconcile cores (DESIGN §7): each is a ControllerDefinition —
 * the kinds it watches, how their events map to keys, and `reconcile(key, cache, ctx)` returning
 * the API actions to take. The controller-manager actor (a shell) runs the registry built here.
 */
import { ControllerRegistry } from './framework/index.js';
import { cronJobController } from './cronjob.js';
import { daemonSetController } from './daemonset.js';
import { disruptionController } from './disruption.js';
import { deploymentController } from './deployment.js';
import { endpointSliceController, endpointsController } from './endpoints.js';
import { garbageCollector } from './garbagecollector.js';
import { hpaController, kubernetesHpa, type HpaConfig } from './hpa.js';
import { jobController } from './job.js';
import { namespaceController } from './namespace.js';
import { nodeIpamController, type NodeIpamConfig } from './nodeipam.js';
import { kubernetesNodeLifecycle, nodeLifecycleController, taintEvictionController, type NodeLifecycleConfig } from './nodelifecycle.js';
import { replicaSetController } from './replicaset.js';
import { resourceQuotaController } from './resourcequota.js';
import { rootCaCertPublisherController } from './rootcacertpublisher.js';
import { serviceAccountController } from './serviceaccount.js';
import { statefulSetController } from './statefulset.js';
import { chaosMeshKinds, networkChaosController, podChaosController, scheduleController } from './chaosmesh/index.js';

export * from './framework/index.js';
export * from './replicaset.js';
export * from './deployment.js';
export * from './endpoints.js';
export * from './namespace.js';
export * from './serviceaccount.js';
export * from './garbagecollector.js';
export * from './job.js';
export * from './nodelifecycle.js';
export * from './nodeipam.js';
export * from './statefulset.js';
export * from './daemonset.js';
export * from './cron.js';
export * from './cronjob.js';
export * from './disruption.js';
export * from './hpa.js';
export * from './resourcequota.js';
export * from './rootcacertpublisher.js';
export * from './operator.js';
export * from './chaosmesh/index.js';

export interface BuiltInOptions {
  /** The timing profile's node grace period etc. (DESIGN §4). */
  readonly nodeLifecycle?: NodeLifecycleConfig;
  readonly hpa?: HpaConfig;
  /** The cluster CA (PEM) the root-ca-cert-publisher puts in every namespace; absent, it does not run (as upstream without a root CA file). */
  readonly rootCaCertPem?: string;
  readonly nodeIpam?: NodeIpamConfig;
  /** Chaos Mesh's PodChaos, NetworkChaos and Schedule controllers (their CRDs must be installed: a cluster with nodes does). */
  readonly chaosMesh?: boolean;
}

/** Every built-in controller, registered under its kube-controller-manager name. */
export function builtInControllers(options: BuiltInOptions = {}): ControllerRegistry {
  const registry = new ControllerRegistry()
    .register(deploymentController)
    .register(replicaSetController)
    .register(endpointsController)
    .register(endpointSliceController)
    .register(namespaceController)
    .register(serviceAccountController)
    .register(resourceQuotaController)
    // Chaos Mesh's kinds join the graph: a Schedule owns its PodChaos children.
    .register(garbageCollector(options.chaosMesh === true ? Object.values(chaosMeshKinds) : []))
    .register(jobController)
    .register(nodeLifecycleController(options.nodeLifecycle ?? kubernetesNodeLifecycle))
    .register(taintEvictionController)
    .register(nodeIpamController(options.nodeIpam))
    .register(statefulSetController)
    .register(daemonSetController)
    .register(cronJobController)
    .register(disruptionController)
    .register(hpaController(options.hpa ?? kubernetesHpa));
  if (options.chaosMesh === true) registry.register(podChaosController).register(networkChaosController).register(scheduleController);
  return options.rootCaCertPem === undefined ? registry : registry.register(rootCaCertPublisherController(options.rootCaCertPem));
}
