import { setImmediate as tick } from 'node:timers/promises';
import { VirtualClock } from '../../src/primitives/clock.js';
import { SeededPrng } from '../../src/primitives/prng.js';
import type { HostFs } from '../../src/cri/files.js';
import type { Image, ImageRegistry } from '../../src/cri/image.js';
import { builtInImages } from '../../src/cri/images/index.js';
import { HostLocalIpam } from '../../src/cri/ipam.js';
import { MemoryNetworkFabric } from '../../src/cri/memory-network.js';
import type { ContainerConfig, ContainerEvent, CriRequest, CriResponse, PodSandboxConfig, ResponseOf } from '../../src/cri/messages.js';
import { ContainerRuntime } from '../../src/cri/runtime.js';
import type { HostProcessLauncher } from '../../src/cri/host-process.js';
import type { Address } from '../../src/primitives/address.js';
import type { PodStreamTell } from '../../src/apiserver/pod-stream.js';

/** The node's disk in memory: absolute path → content; directories are the prefixes of the paths. */
export class MemoryHostFs implements HostFs {
  readonly files = new Map<string, Uint8Array>();

  async readFile(path: string): Promise<Uint8Array | undefined> {
    return this.files.get(path);
  }

  async readDir(path: string): Promise<readonly string[] | undefined> {
    const prefix = `${path.replace(/\/$/, '')}/`;
    const names = new Set<string>();
    for (const file of this.files.keys()) if (file.startsWith(prefix)) names.add(file.slice(prefix.length).split('/')[0]!);
    return names.size === 0 ? undefined : [...names].sort();
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    this.files.set(path, data);
  }
}

export interface Fixture {
  readonly runtime: ContainerRuntime;
  readonly clock: VirtualClock;
  readonly fabric: MemoryNetworkFabric;
  readonly fs: MemoryHostFs;
  readonly ipam: HostLocalIpam;
  readonly events: ContainerEvent[];
  readonly images: ImageRegistry;
  /** Sends a request and expects its response type (fails the test on a criError). */
  ok<R extends CriRequest>(request: R): Promise<ResponseOf<R>>;
  call(request: CriRequest): Promise<CriResponse>;
}

export function fixture(options: { readonly extraImages?: readonly Image[]; readonly logBytesMax?: number; readonly clock?: VirtualClock; readonly hostProcesses?: HostProcessLauncher; readonly sendStream?: (peer: Address, tell: PodStreamTell) => void } = {}): Fixture {
  const clock = options.clock ?? new VirtualClock();
  const fabric = new MemoryNetworkFabric();
  const fs = new MemoryHostFs();
  const ipam = new HostLocalIpam();
  const events: ContainerEvent[] = [];
  const images = builtInImages();
  for (const image of options.extraImages ?? []) images.register(image);
  const runtime = new ContainerRuntime({
    clock, prng: new SeededPrng(7), images, cni: ipam, fs, nodeIp: '127.10.1.1',
    networkFor: (spec) => fabric.podNetwork(spec.podIp),
    onEvent: (event) => events.push(event),
    ...(options.logBytesMax === undefined ? {} : { logBytesMax: options.logBytesMax }),
    ...(options.hostProcesses === undefined ? {} : { hostProcesses: options.hostProcesses }),
    ...(options.sendStream === undefined ? {} : { sendStream: options.sendStream }),
  });
  const call = (request: CriRequest): Promise<CriResponse> => runtime.handle(request);
  const ok = async <R extends CriRequest>(request: R): Promise<ResponseOf<R>> => {
    const response = await call(request);
    if (response.type === 'criError') throw new Error(`${request.type}: ${response.code}: ${response.message}`);
    return response as ResponseOf<R>;
  };
  return { runtime, clock, fabric, fs, ipam, events, images, ok, call };
}

export function sandboxConfig(name: string, extra: Partial<PodSandboxConfig> = {}): PodSandboxConfig {
  return { metadata: { name, uid: `uid-${name}`, namespace: 'default', attempt: 0 }, hostname: name, ...extra };
}

export function containerConfig(name: string, image: string, extra: Partial<ContainerConfig> = {}): ContainerConfig {
  return { metadata: { name, attempt: 0 }, image: { image }, ...extra };
}

/** Lets promises, streams and node:http run (they need event-loop turns, not virtual time). */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await tick();
}

/** Turns the event loop until `condition` holds (bounded: a condition that never holds fails). */
export async function until(condition: () => boolean | Promise<boolean>, turnsMax = 2000): Promise<void> {
  for (let i = 0; i < turnsMax; i++) {
    if (await condition()) return;
    await tick();
  }
  throw new Error('condition never held');
}

/** Creates a sandbox (after the pod CIDR) and starts one container in it; returns their ids. */
export async function runContainer(f: Fixture, pod: string, config: ContainerConfig, sandbox: Partial<PodSandboxConfig> = {}): Promise<{ sandboxId: string; containerId: string; ip: string }> {
  const sandboxConfigValue = sandboxConfig(pod, sandbox);
  const { podSandboxId } = await f.ok({ type: 'runPodSandbox', config: sandboxConfigValue });
  await f.ok({ type: 'pullImage', image: config.image });
  const { containerId } = await f.ok({ type: 'createContainer', podSandboxId, config, sandboxConfig: sandboxConfigValue });
  await f.ok({ type: 'startContainer', containerId });
  const { status } = await f.ok({ type: 'podSandboxStatus', podSandboxId });
  return { sandboxId: podSandboxId, containerId, ip: status.network.ip };
}

export async function statusOf(f: Fixture, containerId: string): Promise<ResponseOf<{ type: 'containerStatus'; containerId: string }>['status']> {
  return (await f.ok({ type: 'containerStatus', containerId })).status;
}

export async function logText(f: Fixture, containerId: string): Promise<string> {
  const { lines } = await f.ok({ type: 'readContainerLog', containerId });
  return lines.map((line) => `${line.text}\n`).join('');
}
