import { ActorTestKit, defineActor, shapeValidator } from 'pocketkube';

// An actor kind: its protocol (validated on arrival) and how to start one.
type CounterMessage = { type: 'add'; amount: number } | { type: 'total'; value: number };
const counterActor = defineActor<CounterMessage, undefined>({
  kind: 'counter',
  validate: shapeValidator<CounterMessage>('counter', { add: { amount: 'number' }, total: { value: 'number' } }),
  create: (context) => {
    let total = 0;
    return {
      receive: (message, incoming) => {
        if (message.type !== 'add') return;
        total += message.amount;
        context.storage.writeAtomic('total', new TextEncoder().encode(String(total))); // durable before the reply
        incoming.reply?.({ type: 'total', value: total });
      },
    };
  },
});

const kit = await ActorTestKit.start(counterActor);               // simulated placement, virtual clock
const reply = await kit.ask({ type: 'add', amount: 2 });          // asks from `probe/probe`
console.log(reply, kit.sent(), kit.replies(), kit.persisted());   // what it did, as data
await kit.stop();
