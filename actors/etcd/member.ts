import type { ActorBehaviour, ActorContext, Incoming } from '../../src/runtime/actor.js';
import { assertNever } from '../../src/primitives/assert.js';
import type { Message } from '../../src/primitives/envelope.js';
import type { Storage } from '../../src/runtime/storage.js';
import { pruneSnapshotFiles, recover, saveSnapshotFile, type Wal } from '../../src/store/index.js';
import type { EtcdConfig, EtcdMessage } from '../../src/etcd/messages.js';
import { EtcdMemberCore, type MemberEffect, type MemberStep } from '../../src/etcd/member.js';

/** How the shell answers an ask: the runtime's reply function for it. */
type ReplyTo = NonNullable<Incoming['reply']>;

/**
 * One etcd member: the shell around the pure member core (src/etcd/member.ts). It reads the
 * data directory at start, hands every message to the core, and performs the core's effects in
 * the order given: WAL appends and fsyncs, snapshot files, sends, replies and timers. The Ready
 * pass runs once per turn of the mailbox (`defer`), which makes one fsync a group commit.
 */
export class EtcdMember implements ActorBehaviour<EtcdMessage> {
  private readonly core: EtcdMemberCore<ReplyTo>;
  private readonly wal: Wal;
  private readyScheduled = false;

  private readonly storage: Storage;

  constructor(private readonly context: ActorContext, config: EtcdConfig) {
    // The sabotage of a chaos acceptance run: a WAL that is never fsynced (appends stay volatile).
    this.storage = config.unsafeSkipFsync === true ? { ...bind(context.storage), sync: () => undefined } : context.storage;
    const recovered = recover(this.storage);
    if (!recovered.ok) throw new Error(`etcd ${config.id}: data directory is damaged: ${JSON.stringify(recovered.error)}`);
    this.wal = recovered.value.wal;
    this.core = new EtcdMemberCore<ReplyTo>({
      config, self: context.self, incarnation: context.incarnation, clock: context.clock, random: context.random, recovered: recovered.value,
    });
    this.perform(this.core.start());
  }

  receive(message: EtcdMessage, incoming: Incoming): void {
    this.perform(this.core.receive(message, incoming.from, incoming.reply));
  }

  onPeerDown(host: string): void {
    this.perform(this.core.peerDown(host));
  }

  inspect(): Record<string, unknown> {
    return this.core.inspect();
  }

  private perform(step: MemberStep<ReplyTo>): void {
    this.run(step.effects);
    if (step.ready) this.scheduleReady();
  }

  private scheduleReady(): void {
    if (this.readyScheduled) return;
    this.readyScheduled = true;
    this.context.defer(() => {
      this.readyScheduled = false;
      this.run(this.core.ready());
    });
  }

  private run(effects: readonly MemberEffect<ReplyTo>[]): void {
    for (const effect of effects) {
      switch (effect.kind) {
        case 'send':
          this.context.send(effect.to, effect.message as Message & typeof effect.message);
          break;
        case 'reply':
          effect.to(effect.message);
          break;
        case 'flush':
          this.context.flush();
          break;
        case 'timer':
          this.context.setTimer(effect.key, effect.delayMs, { type: effect.key });
          break;
        case 'persist':
          if (effect.entries.length > 0 || effect.hardState) this.wal.save(effect.hardState, effect.entries);
          if (effect.sync) this.wal.sync();
          break;
        case 'saveSnapshot':
          saveSnapshotFile(this.storage, effect.snapshot);
          this.wal.saveSnapshot({ index: effect.snapshot.metadata.index, term: effect.snapshot.metadata.term });
          if (effect.sync) this.wal.sync();
          break;
        case 'pruneSnapshots':
          pruneSnapshotFiles(this.storage, effect.keep);
          if (effect.releaseWalTo > 0) this.wal.releaseTo(effect.releaseWalTo);
          break;
        case 'log':
          this.context.log.warn(effect.message, effect.fields);
          break;
        default:
          assertNever(effect, 'etcd member effect');
      }
    }
  }
}

/** `storage`'s methods as a plain object (to override one). */
function bind(storage: Storage): Storage {
  return {
    read: (name) => storage.read(name), append: (name, data) => storage.append(name, data), sync: (name) => storage.sync(name),
    writeAtomic: (name, data) => storage.writeAtomic(name, data), truncate: (name, length) => storage.truncate(name, length),
    remove: (name) => storage.remove(name), list: () => storage.list(),
  };
}
