/**
 * The front door's routing on real loopback sockets (block 127.77.4.x), with plain TCP echo servers
 * as backends: they fail every `/readyz` health check (no TLS), so they are all unhealthy, which is
 * what every apiserver looks like while etcd is between leaders.
 */
import test from 'ava';
import { connect, createServer, type Server } from 'node:net';
import { FrontDoor } from '../../src/apiserver/front-door.js';

const block = '127.77.4';

function echoServer(host: string, name: string): Promise<Server> {
  const server = createServer((socket) => socket.on('data', (chunk: Buffer) => socket.write(`${name}:${chunk.toString()}`)));
  return new Promise((resolve) => server.listen(0, host, () => resolve(server)));
}

function portOf(server: Server): number {
  const addr = server.address();
  if (typeof addr !== 'object' || addr === null) throw new Error('not listening');
  return addr.port;
}

/** Sends `text` through the door; resolves with the reply, or 'closed' when the door drops the connection. */
function roundTrip(door: FrontDoor, text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: door.host, port: door.port }, () => socket.write(text));
    socket.once('data', (chunk: Buffer) => { resolve(chunk.toString()); socket.destroy(); });
    socket.once('close', () => resolve('closed'));
    socket.once('error', () => resolve('closed'));
  });
}

test('front door: with no backend healthy it still routes to every backend in turn (panic mode), skipping one that refuses', async (t) => {
  const servers = await Promise.all([echoServer(`${block}.1`, 'a'), echoServer(`${block}.2`, 'b')]);
  const refusing = await echoServer(`${block}.3`, 'c');
  const refusingPort = portOf(refusing);
  await new Promise((resolve) => refusing.close(resolve));
  const backends = [
    { host: `${block}.1`, port: portOf(servers[0]!) }, { host: `${block}.2`, port: portOf(servers[1]!) }, { host: `${block}.3`, port: refusingPort },
  ];
  const door = await FrontDoor.listen({ backends, caPem: '', host: `${block}.100`, port: 0, healthIntervalMs: 60_000, unhealthyAfterFailures: 1 });
  t.teardown(async () => {
    await door.close();
    for (const s of servers) s.close();
  });
  await door.checkNow();
  t.deepEqual(door.healthyBackends(), [], 'plain TCP fails the TLS /readyz check');
  const replies = [];
  for (let i = 0; i < 6; i++) replies.push(await roundTrip(door, `hello-${i}`));
  t.false(replies.includes('closed'), replies.join(' '));
  t.true(replies.some((r) => r.startsWith('a:')) && replies.some((r) => r.startsWith('b:')), `both live backends served: ${replies.join(' ')}`);
});
