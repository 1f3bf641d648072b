import test from 'ava';
import { containerRuntimeActor } from '../../actors/container-runtime/actor.js';
import type { AnyActorDefinition } from '../../src/runtime/actor.js';
import { ActorTestKit } from '../../src/runtime/testkit.js';
import type { ContainerEvent, ContainerRuntimeConfig, CriResponse } from '../../src/cri/messages.js';
import { containerConfig, sandboxConfig } from './helpers.js';

const config: ContainerRuntimeConfig = {
  nodeName: 'worker-1', nodeIp: '127.10.1.1', serviceProxy: { host: '127.10.1.1', tcpPort: 10_256, udpPort: 10_257 },
  serviceCidr: '127.96.0.0/16', podNetwork: 'memory',
};

async function ok<T extends CriResponse['type']>(kit: ActorTestKit, message: Parameters<ActorTestKit['ask']>[0], type: T): Promise<Extract<CriResponse, { type: T }>> {
  const response = await kit.ask<CriResponse>(message);
  if (response.type !== type) throw new Error(`${message.type}: expected ${type}, got ${JSON.stringify(response)}`);
  return response as Extract<CriResponse, { type: T }>;
}

test('the container-runtime actor answers CRI requests and tells events to subscribers', async (t) => {
  const kit = await ActorTestKit.start(containerRuntimeActor as AnyActorDefinition, { config, host: 'worker-1', name: 'container-runtime' });
  try {
    t.like(await ok(kit, { type: 'version' }, 'versionResponse'), { runtimeName: 'pocketkube', runtimeApiVersion: 'v1' });
    t.like(await kit.ask<CriResponse>({ type: 'runPodSandbox', config: sandboxConfig('p') }), { type: 'criError', code: 'FailedPrecondition' });
    await ok(kit, { type: 'updateRuntimeConfig', podCidr: '127.244.1.0/24' }, 'updateRuntimeConfigResponse');
    await ok(kit, { type: 'getContainerEvents' }, 'getContainerEventsResponse');
    const sandbox = sandboxConfig('p');
    const { podSandboxId } = await ok(kit, { type: 'runPodSandbox', config: sandbox }, 'runPodSandboxResponse');
    const pulled = await kit.ask<CriResponse>({ type: 'pullImage', image: { image: 'nosuch:1' } });
    t.like(pulled, { type: 'criError', code: 'NotFound' });
    await ok(kit, { type: 'pullImage', image: { image: 'busybox:1.36' } }, 'pullImageResponse');
    const { containerId } = await ok(kit, { type: 'createContainer', podSandboxId, config: containerConfig('c', 'busybox:1.36', { command: ['sh', '-c', 'echo hello; sleep 1; exit 2'] }), sandboxConfig: sandbox }, 'createContainerResponse');
    await ok(kit, { type: 'startContainer', containerId }, 'startContainerResponse');
    await kit.advance(2_000);
    const { status } = await ok(kit, { type: 'containerStatus', containerId }, 'containerStatusResponse');
    t.like(status, { state: 'CONTAINER_EXITED', exitCode: 2, reason: 'Error' });
    const { lines } = await ok(kit, { type: 'readContainerLog', containerId }, 'readContainerLogResponse');
    t.deepEqual(lines.map((l) => l.text), ['hello']);
    const events = kit.probeInbox.map((r) => r.message).filter((m): m is ContainerEvent => m.type === 'containerEvent');
    t.deepEqual(events.map((e) => e.eventType), ['CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT', 'CONTAINER_STOPPED_EVENT']);
    t.true(events.every((e) => e.containerId === containerId && e.podSandboxId === podSandboxId));
  } finally {
    await kit.stop();
  }
});
