import test from 'ava';
import { echoActor } from '../../actors/echo/actor.js';
import type { EchoMessage } from '../../src/echo/messages.js';
import type { AnyActorDefinition } from '../../src/runtime/actor.js';
import { ActorTestKit } from '../../src/runtime/testkit.js';

const echo = echoActor as AnyActorDefinition;

async function start(t: { teardown(fn: () => unknown): void }, options: Parameters<typeof ActorTestKit.start>[1] = {}): Promise<ActorTestKit> {
  const kit = await ActorTestKit.start(echo, options);
  t.teardown(() => kit.stop());
  return kit;
}

test('ask from the probe gets the reply, and the reply is recorded as an effect of the subject', async (t) => {
  const kit = await start(t);
  const reply = await kit.ask<EchoMessage>({ type: 'echo', seq: 7, payload: 'hi' });
  t.like(reply, { type: 'echoed', seq: 7, payload: 'hi' });
  t.deepEqual(kit.replies(), [{ type: 'echoed', seq: 7, payload: 'hi' }]);
  t.deepEqual(kit.sent(), []);
  t.is(kit.effects().filter((effect) => effect.effect === 'reply')[0]?.to, kit.probeAddress);
});

test('a told echo goes back to the probe: it is in the subject\'s sends and in the probe inbox', async (t) => {
  const kit = await start(t, { host: 'h1', name: 'echo' });
  t.is(kit.subject, 'h1/echo');
  await kit.send({ type: 'echo', seq: 3 });
  t.deepEqual(kit.sent(), [{ to: kit.probeAddress, message: { type: 'echoed', seq: 3, payload: undefined } }]);
  t.is(kit.probeInbox.length, 1);
  t.like(kit.probeInbox[0], { from: 'h1/echo', message: { type: 'echoed', seq: 3 } });
});

test('persisted writes are effects, and the bytes are on the subject\'s simulated disk', async (t) => {
  const kit = await start(t);
  const reply = await kit.ask<EchoMessage>({ type: 'remember', value: 'one' });
  t.deepEqual(reply, { type: 'recalled', values: ['one'] });
  t.deepEqual(kit.persisted().map((effect) => [effect.op, effect.file, effect.bytes]), [['append', 'remembered', 4], ['sync', 'remembered', 0]]);
  t.is(new TextDecoder().decode(kit.storage().read('remembered')), 'one\n');
});

test('a peer configured beside the subject is reached, and its effects are read by address', async (t) => {
  const kit = await start(t, {
    config: { next: 'peer/echo', reportTo: 'probe/probe' },
    peers: [{ name: 'peer', actors: [{ name: 'echo', kind: 'echo', config: { reportTo: 'probe/probe' } }] }],
  });
  await kit.send({ type: 'ring', hops: 1, trail: [] });
  await kit.advance(10);
  t.deepEqual(kit.sent(), [{ to: 'peer/echo', message: { type: 'ring', hops: 0, trail: ['test/subject'] } }]);
  t.deepEqual(kit.sent('peer/echo'), [{ to: 'probe/probe', message: { type: 'ringDone', trail: ['test/subject', 'peer/echo'] } }]);
  t.like(kit.probeInbox.at(-1), { from: 'peer/echo', message: { type: 'ringDone', trail: ['test/subject', 'peer/echo'] } });
});

test('an ask the subject never answers times out in virtual time', async (t) => {
  const kit = await start(t);
  // `echoed` is a one-way tell: the echo actor counts it and does not reply.
  await t.throwsAsync(kit.ask({ type: 'echoed', seq: 1 }, 100), { name: 'AskTimeoutError' });
});
