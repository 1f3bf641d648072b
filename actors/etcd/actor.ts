import { defineActor } from '../../src/runtime/actor.js';
import { EtcdMember, type EtcdConfig } from './member.js';
import { validateEtcdMessage, type EtcdMessage } from './messages.js';

export const etcdActor = defineActor<EtcdMessage, EtcdConfig>({
  kind: 'etcd',
  validate: validateEtcdMessage,
  create: (context, config) => new EtcdMember(context, config),
});

export const definition = etcdActor;
