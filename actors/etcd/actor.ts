import { defineActor } from '../../src/runtime/actor.js';
import { EtcdMember } from './member.js';
import { validateEtcdMessage, type EtcdConfig, type EtcdMessage } from '../../src/etcd/messages.js';

export const etcdActor = defineActor<EtcdMessage, EtcdConfig>({
  kind: 'etcd',
  validate: validateEtcdMessage,
  create: (context, config) => new EtcdMember(context, config),
});
