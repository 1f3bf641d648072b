// The raw MessagePort baseline of the `bus` benchmark: msgpackr batches of small messages over a
// MessageChannel between two worker threads, with no relay, mailbox or validation.
import { parentPort, workerData } from 'node:worker_threads';
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false });
const { role, port, count, batch, burst } = workerData;

if (role === 'sender') {
  parentPort.once('message', () => {
    let sent = 0;
    const turn = () => {
      for (let b = 0; b < burst && sent < count; b++) {
        const items = [];
        for (let i = 0; i < batch && sent < count; i++, sent++) {
          items.push([0, 'h1/echo', 'h2/echo', 0, { type: 'echoed', seq: sent, sentAtMs: 0 }]);
        }
        const bytes = Uint8Array.prototype.slice.call(packr.pack(items));
        port.postMessage(bytes, [bytes.buffer]);
      }
      if (sent < count) setImmediate(turn);
    };
    turn();
  });
} else {
  let received = 0;
  port.on('message', (bytes) => {
    const items = packr.unpack(bytes);
    for (const item of items) if (item[4].type === 'echoed') received++;
    if (received >= count) parentPort.postMessage('done');
  });
  parentPort.postMessage('ready');
}
