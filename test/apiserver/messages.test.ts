import test from 'ava';
import { validateControllerManagerMessage } from '../../src/controllers/messages.js';
import { validateKubeletMessage } from '../../src/kubelet/messages.js';
import { validateKubeProxyMessage } from '../../src/proxy/messages.js';
import { validateSchedulerMessage } from '../../src/scheduler/messages.js';
import { isProtocolError } from '../../src/runtime/validate.js';

// Every watching actor accepts the apiserver's watch tells through one validator (validateWatchTell).
const validators = [
  ['scheduler', validateSchedulerMessage],
  ['controller-manager', validateControllerManagerMessage],
  ['kubelet', validateKubeletMessage],
  ['kube-proxy', validateKubeProxyMessage],
] as const;

const event = { type: 'apiWatchEvent', watchId: 7, event: { type: 'ADDED', object: { kind: 'Pod' } } };

for (const [component, validate] of validators) {
  test(`${component}: a well-formed watch tell passes; a malformed one and an unknown type are protocol errors naming the component`, (t) => {
    t.deepEqual(validate(event), event);
    t.deepEqual(validate({ type: 'apiWatchHeartbeat', watchIds: [1, 2] }), { type: 'apiWatchHeartbeat', watchIds: [1, 2] });
    const malformed = validate({ type: 'apiWatchEvent', watchId: 7, event: { type: 'ADDED' } });
    t.deepEqual(malformed, { protocolError: `${component}: malformed apiWatchEvent` });
    const unknown = validate({ type: 'apiResponse', response: { status: 200, contentType: 'application/json' } });
    t.true(isProtocolError(unknown));
    t.deepEqual(unknown, { protocolError: `${component}: unknown message type "apiResponse"` });
  });
}
