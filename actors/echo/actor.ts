import { isAddress, type Address } from '../../src/primitives/address.js';
import { defineActor, type ActorContext, type Incoming } from '../../src/runtime/actor.js';
import { validateEchoMessage, type EchoConfig, type EchoMessage } from '../../src/echo/messages.js';

const MEMORY_FILE = 'remembered';
const MAX_BURST = 10_000;
const MAX_LATENCY_SAMPLES = 100_000;

export const echoActor = defineActor<EchoMessage, EchoConfig | undefined>({
  kind: 'echo',
  validate: validateEchoMessage,
  create: (context, config) => new EchoBehaviour(context, config ?? {}),
});

class EchoBehaviour {
  private echoes = 0;
  private echoed = 0;
  private rings = 0;
  private lastRing: readonly string[] = [];

  constructor(
    private readonly context: ActorContext,
    private readonly config: EchoConfig,
  ) {}

  receive(message: EchoMessage, incoming: Incoming): void | Promise<void> {
    switch (message.type) {
      case 'echo': {
        this.echoes++;
        const answer: EchoMessage = { type: 'echoed', seq: message.seq, payload: message.payload, ...(message.sentAtMs === undefined ? {} : { sentAtMs: message.sentAtMs }) };
        if (incoming.reply) incoming.reply(answer);
        else this.context.send(incoming.from, answer);
        return;
      }
      case 'echoed':
        this.echoed++;
        return;
      case 'ring':
        this.forwardRing(message.hops, message.trail);
        return;
      case 'blast':
      case 'blastTick': {
        if (!isAddress(message.to)) throw new Error(`${message.type}: bad target ${message.to}`);
        const count = message.type === 'blast' ? message.count : message.remaining;
        this.blast(message.to, count, Math.min(MAX_BURST, Math.max(1, message.burst)));
        incoming.reply?.(this.stats());
        return;
      }
      case 'getStats':
        incoming.reply?.(this.stats());
        return;
      case 'measureLatency':
        if (!isAddress(message.to)) throw new Error(`measureLatency: bad target ${message.to}`);
        return this.measureLatency(message.to, Math.min(MAX_LATENCY_SAMPLES, message.count), incoming);
      case 'crash':
        throw new Error(`asked to crash: ${message.reason}`);
      case 'remember':
        this.context.storage.append(MEMORY_FILE, new TextEncoder().encode(`${message.value}\n`));
        this.context.storage.sync(MEMORY_FILE);
        incoming.reply?.({ type: 'recalled', values: this.recall() });
        return;
      case 'recall':
        incoming.reply?.({ type: 'recalled', values: this.recall() });
        return;
      case 'ringDone':
        this.lastRing = message.trail;
        return;
      case 'stats':
      case 'latencies':
      case 'recalled':
        return;
      default: {
        const unreachable: never = message;
        throw new Error(`echo: unhandled ${JSON.stringify(unreachable)}`);
      }
    }
  }

  inspect(): Record<string, unknown> {
    return { echoes: this.echoes, echoed: this.echoed, rings: this.rings, lastRing: this.lastRing };
  }

  private stats(): EchoMessage {
    return { type: 'stats', echoes: this.echoes, echoed: this.echoed, rings: this.rings, incarnation: this.context.incarnation };
  }

  private forwardRing(hops: number, trail: readonly string[]): void {
    this.rings++;
    const nextTrail = [...trail, this.context.self];
    if (hops > 0 && this.config.next) this.context.send(this.config.next, { type: 'ring', hops: hops - 1, trail: nextTrail });
    else if (this.config.reportTo) this.context.send(this.config.reportTo, { type: 'ringDone', trail: nextTrail });
  }

  /** Sends a burst now and the rest on later turns, so the thread can flush batches in between. */
  private blast(to: Address, count: number, burst: number): void {
    const now = this.context.clock.now();
    const n = Math.min(count, burst);
    for (let i = 0; i < n; i++) this.context.send(to, { type: 'echoed', seq: i, sentAtMs: now });
    if (count > n) this.context.setTimer('blast', 0, { type: 'blastTick', to, remaining: count - n, burst });
  }

  private async measureLatency(to: Address, count: number, incoming: Incoming): Promise<void> {
    const roundTripsUs: number[] = [];
    for (let seq = 0; seq < count; seq++) {
      const started = this.context.clock.now();
      await this.context.ask(to, { type: 'echo', seq });
      roundTripsUs.push((this.context.clock.now() - started) * 1000);
    }
    incoming.reply?.({ type: 'latencies', roundTripsUs });
  }

  private recall(): string[] {
    const bytes = this.context.storage.read(MEMORY_FILE);
    if (!bytes) return [];
    return new TextDecoder().decode(bytes).split('\n').filter((line) => line.length > 0);
  }
}
