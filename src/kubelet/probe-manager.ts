/**
 * Runs each running container's startup, liveness and readiness probes on the kubelet's clock
 * (pkg/kubelet/prober/prober_manager.go). A result change makes the pod sync again: a failed
 * liveness or startup probe kills the container, readiness feeds the Ready condition (and so
 * the Service endpoints).
 */
import type { Clock, TimerId } from '../primitives/clock.js';
import type { ContainerSpec } from './pod-spec.js';
import { probeAction, ProbeState, type ProbeKind } from './probes.js';
import type { Prober, ProbeOutcome, RuntimeService } from './services.js';

interface ContainerProbes {
  readonly podUid: string;
  readonly name: string;
  readonly states: Map<ProbeKind, ProbeState>;
  readonly timers: Map<ProbeKind, TimerId>;
  readonly lastRunMs: Map<ProbeKind, number>;
}

export interface ProbeManagerOptions {
  readonly clock: Clock;
  readonly runtime: RuntimeService;
  readonly prober: Prober;
  /** Called when a result changed: the pod syncs again. */
  readonly onChange: (podUid: string, containerName: string, kind: ProbeKind, success: boolean, message: string) => void;
}

/** Probe output kept for the Unhealthy event's message. */
const probeMessageCharsMax = 1_024;

export class ProbeManager {
  private readonly byContainerId = new Map<string, ContainerProbes>();

  constructor(private readonly o: ProbeManagerOptions) {}

  /** Starts the probes of a container that just started (once per container id). */
  add(podUid: string, containerId: string, podIp: string, spec: ContainerSpec, startedMs: number): void {
    if (this.byContainerId.has(containerId)) return;
    const entry: ContainerProbes = { podUid, name: spec.name, states: new Map(), timers: new Map(), lastRunMs: new Map() };
    const probes: [ProbeKind, ContainerSpec['livenessProbe']][] = [['startup', spec.startupProbe], ['liveness', spec.livenessProbe], ['readiness', spec.readinessProbe]];
    for (const [kind, probe] of probes) if (probe !== undefined) entry.states.set(kind, new ProbeState(kind, probe, startedMs));
    if (entry.states.size === 0) return;
    this.byContainerId.set(containerId, entry);
    for (const kind of entry.states.keys()) this.schedule(containerId, entry, kind, podIp, spec);
  }

  /** Stops the probes of the pod's containers no longer running. */
  retainFor(podUid: string, running: ReadonlySet<string>): void {
    for (const [id, entry] of this.byContainerId) {
      if (entry.podUid !== podUid || running.has(id)) continue;
      for (const timer of entry.timers.values()) this.o.clock.clearTimer(timer);
      this.byContainerId.delete(id);
    }
  }

  /** A container's verdicts: ready and started default to true without their probe. */
  verdict(containerId: string | undefined): { readonly ready: boolean; readonly started: boolean; readonly live: boolean } {
    const entry = containerId === undefined ? undefined : this.byContainerId.get(containerId);
    if (entry === undefined) return { ready: true, started: true, live: true };
    const startup = entry.states.get('startup');
    const started = startup === undefined || startup.succeeded;
    const startupFailedForGood = startup !== undefined && !startup.succeeded && startup.failing;
    return {
      started,
      ready: started && (entry.states.get('readiness')?.succeeded ?? true),
      live: !startupFailedForGood && (entry.states.get('liveness')?.succeeded ?? true),
    };
  }

  stop(): void {
    for (const entry of this.byContainerId.values()) for (const timer of entry.timers.values()) this.o.clock.clearTimer(timer);
    this.byContainerId.clear();
  }

  private schedule(containerId: string, entry: ContainerProbes, kind: ProbeKind, podIp: string, spec: ContainerSpec): void {
    const state = entry.states.get(kind)!;
    const dueMs = state.nextDueMs(entry.lastRunMs.get(kind));
    entry.timers.set(kind, this.o.clock.setTimer(Math.max(0, dueMs - this.o.clock.now()), () => void this.run(containerId, entry, kind, podIp, spec)));
  }

  private async run(containerId: string, entry: ContainerProbes, kind: ProbeKind, podIp: string, spec: ContainerSpec): Promise<void> {
    if (this.byContainerId.get(containerId) !== entry) return;
    const state = entry.states.get(kind)!;
    const startup = entry.states.get('startup');
    // Liveness and readiness wait for the startup probe; startup stops once it succeeded.
    const skip = (kind !== 'startup' && startup !== undefined && !startup.succeeded) || (kind === 'startup' && state.succeeded);
    if (!skip) {
      entry.lastRunMs.set(kind, this.o.clock.now());
      const outcome = await this.execute(containerId, state, podIp, spec);
      if (this.byContainerId.get(containerId) !== entry) return;
      if (state.record(outcome.success, outcome.message.slice(0, probeMessageCharsMax))) this.o.onChange(entry.podUid, entry.name, kind, state.succeeded, state.message);
    } else {
      entry.lastRunMs.set(kind, this.o.clock.now());
    }
    this.schedule(containerId, entry, kind, podIp, spec);
  }

  private async execute(containerId: string, state: ProbeState, podIp: string, spec: ContainerSpec): Promise<ProbeOutcome> {
    const action = probeAction(state.probe, spec.ports);
    if ('error' in action) return { success: false, message: action.error };
    try {
      switch (action.type) {
        case 'exec': {
          const reply = await this.o.runtime.call({ type: 'execSync', containerId, cmd: action.command, timeout: Math.ceil(action.timeoutMs / 1_000) }, action.timeoutMs + 1_000);
          return { success: reply.exitCode === 0, message: `${reply.stdout}${reply.stderr}`.trim() || `command exited with ${reply.exitCode}` };
        }
        case 'http':
          return await this.o.prober.http({ ...action, host: action.host ?? podIp });
        case 'tcp':
          return await this.o.prober.tcp({ ...action, host: action.host ?? podIp });
        default: {
          const never: never = action;
          throw new Error(`unknown probe ${JSON.stringify(never)}`);
        }
      }
    } catch (error) {
      return { success: false, message: error instanceof Error ? error.message : String(error) };
    }
  }
}
