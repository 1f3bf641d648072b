/**
 * A container's view of its pod's network that remembers what the container opened, so the
 * runtime can close it all when the container exits or is killed (a killed process's sockets
 * close with it; its port is free for the next attempt).
 */
import type { Duplex } from 'node:stream';
import type { NetListener, PodNetwork, UdpEndpoint } from './image.js';

/** Bound on sockets one container holds open at once (an fd limit). */
const openSocketsMax = 4096;

export class TrackedNetwork implements PodNetwork {
  private readonly closers = new Set<() => void>();
  private closed = false;

  constructor(private readonly inner: PodNetwork) {}

  get podIp(): string {
    return this.inner.podIp;
  }

  async listen(port: number, onConnection: (stream: Duplex, remote: { readonly host: string; readonly port: number }) => void): Promise<NetListener> {
    this.assertOpen();
    const listener = await this.inner.listen(port, (stream, remote) => {
      this.track(() => stream.destroy(), stream);
      onConnection(stream, remote);
    });
    return this.trackCloseable(listener);
  }

  async connect(host: string, port: number, options?: { readonly timeoutMs?: number }): Promise<Duplex> {
    this.assertOpen();
    const stream = await this.inner.connect(host, port, options);
    this.track(() => stream.destroy(), stream);
    return stream;
  }

  async udp(port: number): Promise<UdpEndpoint> {
    this.assertOpen();
    return this.trackCloseable(await this.inner.udp(port));
  }

  resolve(name: string): Promise<readonly string[]> {
    return this.inner.resolve(name);
  }

  /** Closes everything the container still holds. */
  closeAll(): void {
    this.closed = true;
    for (const close of [...this.closers]) close();
    this.closers.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('container has exited: its network is closed');
    if (this.closers.size >= openSocketsMax) throw new Error(`too many open sockets (bound ${openSocketsMax})`);
  }

  private trackCloseable(resource: UdpEndpoint): UdpEndpoint;
  private trackCloseable(resource: NetListener): NetListener;
  private trackCloseable(resource: NetListener | UdpEndpoint): NetListener | UdpEndpoint {
    const close = (): void => void resource.close().catch(() => undefined);
    this.closers.add(close);
    const closeTracked = async (): Promise<void> => {
      this.closers.delete(close);
      await resource.close();
    };
    if (!('send' in resource)) return { get port() { return resource.port; }, close: closeTracked };
    return {
      get port() { return resource.port; },
      send: (data, host, port) => resource.send(data, host, port),
      onMessage: (handler) => resource.onMessage(handler),
      close: closeTracked,
    };
  }

  private track(close: () => void, stream: Duplex): void {
    if (this.closed) {
      close();
      return;
    }
    this.closers.add(close);
    stream.once('close', () => this.closers.delete(close));
  }
}
