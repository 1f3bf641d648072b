/**
 * The `process` runtime handler: a pod with `runtimeClassName: process` runs its containers'
 * real commands as child processes of the host (a user's own server as a pod). The runtime core
 * stays pure: it hands a `HostProcessSpec` to an injected launcher (the container-runtime shell
 * spawns it with node:child_process). Only real placements have a launcher; without one the
 * handler is refused with a message saying so. The RuntimeClass object the cluster creates at
 * start maps the class name to this handler, as a RuntimeClass does for runc or gVisor.
 */
import type { KubeObject } from '../api/types.js';
import type { Mount } from './messages.js';

export const processRuntimeHandler = 'process';

/** The built-in RuntimeClass the cluster creates, so `runtimeClassName: process` resolves. */
export const processRuntimeClass: KubeObject = {
  apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: processRuntimeHandler }, handler: processRuntimeHandler,
};

export interface HostProcessSpec {
  /** The container's command and args, exactly as Kubernetes resolves them (no image entrypoint). */
  readonly argv: readonly string[];
  /** The container's environment (Service links, Downward API, ...) plus POD_IP and HOSTNAME. */
  readonly env: Readonly<Record<string, string>>;
  readonly podUid: string;
  readonly containerName: string;
  /** Volumes: the launcher links each containerPath (relative to the working directory) to its host directory. */
  readonly mounts: readonly Mount[];
  stdout(text: string): void;
  stderr(text: string): void;
  /** Aborted on stop: the process gets SIGTERM. */
  readonly terminate: AbortSignal;
  /** Aborted when the grace period ran out (or at once): SIGKILL. */
  readonly kill: AbortSignal;
}

export interface HostProcessLauncher {
  /** Runs the process to its exit code (a signal death: 128 + signal number). */
  run(spec: HostProcessSpec): Promise<number>;
}
