/**
 * Container lifecycle hooks (pkg/kubelet/lifecycle/handlers.go): a postStart or preStop handler
 * runs as an exec in the container (the runtime's ExecSync), an HTTP GET against the pod IP, or a
 * sleep. tcpSocket is accepted by the API but, as upstream, is not a handler the kubelet runs.
 */
import { sleep, type Clock } from '../primitives/clock.js';
import type { ContainerPort, LifecycleHandler } from './pod-spec.js';
import { probeAction } from './probes.js';
import type { ProbeOutcome, Prober, RuntimeService } from './services.js';

export interface HookTarget {
  readonly containerId: string;
  readonly podIp: string;
  readonly ports: readonly ContainerPort[] | undefined;
  /** preStop: the grace period; postStart: upstream waits without a limit, here this bound. */
  readonly timeoutSeconds: number;
}

export interface HookDeps {
  readonly runtime: RuntimeService;
  readonly prober: Prober;
  readonly clock: Clock;
}

/** Runs the handler to its end; a failure is `success: false` with what the handler said. */
export async function runLifecycleHandler(deps: HookDeps, handler: LifecycleHandler, target: HookTarget): Promise<ProbeOutcome> {
  if (handler.sleep !== undefined) {
    await sleep(deps.clock, Math.min(handler.sleep.seconds, target.timeoutSeconds) * 1_000);
    return { success: true, message: '' };
  }
  if (handler.exec === undefined && handler.httpGet === undefined) {
    return { success: false, message: handler.tcpSocket !== undefined ? 'tcpSocket is not supported as a lifecycle handler' : 'the handler has no exec, httpGet or sleep' };
  }
  const action = probeAction({ ...(handler.exec ? { exec: handler.exec } : {}), ...(handler.httpGet ? { httpGet: handler.httpGet } : {}), timeoutSeconds: target.timeoutSeconds }, target.ports);
  if ('error' in action) return { success: false, message: action.error };
  try {
    if (action.type === 'exec') {
      const reply = await deps.runtime.call({ type: 'execSync', containerId: target.containerId, cmd: action.command, timeout: target.timeoutSeconds }, (target.timeoutSeconds + 2) * 1_000);
      const output = `${reply.stdout}${reply.stderr}`.trim();
      return reply.exitCode === 0 ? { success: true, message: output } : { success: false, message: `command '${action.command.join(' ')}' exited with ${reply.exitCode}: ${output}` };
    }
    if (action.type === 'http') return await deps.prober.http({ ...action, host: action.host ?? target.podIp });
    return { success: false, message: 'tcpSocket is not supported as a lifecycle handler' };
  } catch (error) {
    return { success: false, message: error instanceof Error ? error.message : String(error) };
  }
}
