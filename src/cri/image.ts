/**
 * What a container image is in pocketkube: a small program (DESIGN §9). An image never touches the
 * operating system itself: it gets its network (`PodNetwork`), its files (`ContainerFiles`), its
 * clock and its output from the runtime, so the same image runs on real loopback sockets (threads
 * placement) and on the simulated network (simulated placement), reproducibly from a seed.
 */
import type { Duplex } from 'node:stream';
import type { Clock } from '../primitives/clock.js';
import type { Prng } from '../primitives/prng.js';

/** A TCP listener on the pod's IP. */
export interface NetListener {
  readonly port: number;
  close(): Promise<void>;
}

/** A UDP socket bound on the pod's IP. */
export interface UdpEndpoint {
  readonly port: number;
  send(data: Uint8Array, host: string, port: number): void;
  onMessage(handler: (data: Uint8Array, from: { readonly host: string; readonly port: number }) => void): void;
  close(): Promise<void>;
}

/**
 * The pod's view of the network: its own IP, the cluster's Services (reached through its node's
 * kube-proxy), and cluster DNS with the pod's search path. Streams are node:stream Duplexes so
 * images can use node:http on either placement (`server.emit('connection', stream)`,
 * `http.request({ createConnection })`).
 */
export interface PodNetwork {
  readonly podIp: string;
  /** Binds podIp:port (0 picks a free port); fails with EADDRINUSE when the pod already uses it. */
  listen(port: number, onConnection: (stream: Duplex, remote: { readonly host: string; readonly port: number }) => void): Promise<NetListener>;
  /** Opens a TCP stream to host:port (a pod IP, a ClusterIP, or a name resolved through cluster DNS). */
  connect(host: string, port: number, options?: { readonly timeoutMs?: number }): Promise<Duplex>;
  /** Binds a UDP socket on podIp:port (0 picks a free port). */
  udp(port: number): Promise<UdpEndpoint>;
  /** A records for a name, through the pod's resolv.conf (cluster DNS, search path, ndots). Empty: NXDOMAIN or no records. */
  resolve(name: string): Promise<readonly string[]>;
}

/** The container's file system: the image's own layer plus the volumes mounted into it. */
export interface ContainerFiles {
  /** Undefined when the path does not exist (or is a directory). */
  readFile(path: string): Promise<Uint8Array | undefined>;
  /** Entry names of a directory; undefined when it does not exist. */
  readDir(path: string): Promise<readonly string[] | undefined>;
  /** Fails with a clear error when the path lies in a read-only mount. */
  writeFile(path: string, data: Uint8Array): Promise<void>;
}

/** What a running container reports for `ContainerStats` (and so `kubectl top`). */
export interface ContainerUsage {
  /** CPU the process burns, in millicores (an image that idles reports near 0). */
  setCpuMillicores(millicores: number): void;
  setMemoryBytes(bytes: number): void;
}

/** A process's input as it arrives (`kubectl exec -i`): the next chunk, or undefined at its end. */
export interface StdinReader {
  read(): Promise<string | undefined>;
}

/** Everything a container's process is given. */
export interface ContainerProcess {
  /** argv: the image's entrypoint/command and args after Kubernetes' command/args rules. */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly workingDir: string;
  /** The pod's hostname (its name, or spec.hostname). */
  readonly hostname: string;
  readonly net: PodNetwork;
  readonly files: ContainerFiles;
  readonly clock: Clock;
  readonly prng: Prng;
  readonly usage: ContainerUsage;
  stdout(text: string): void;
  stderr(text: string): void;
  /** The exec's stdin when its client sends one (`kubectl exec -i`); absent: no input (a read sees its end at once). */
  readonly stdin?: StdinReader;
  /** A terminal is attached (`kubectl exec -t`): an interactive shell prompts. */
  readonly tty?: boolean;
  /** Aborted when the runtime stops the container (SIGTERM); the process should exit soon after. */
  readonly signal: AbortSignal;
}

export interface Image {
  /** The repository it answers, e.g. `nginx`, `busybox`, `registry.k8s.io/e2e-test-images/agnhost`. */
  readonly repository: string;
  /** Tags it answers; undefined: every tag. */
  readonly tags?: readonly string[];
  /** ENTRYPOINT and CMD, as an image config has them (Kubernetes' command replaces the first, args the second). */
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly workingDir?: string;
  /** Files of the image's own layer (e.g. nginx's default page), path → content. */
  readonly files?: Readonly<Record<string, string>>;
  /** Runs the process to its exit code. Thrown errors are exit code 1 with the message on stderr. */
  run(process: ContainerProcess): Promise<number>;
  /**
   * Runs a command inside a running container (ExecSync, exec probes, `kubectl exec`), given the
   * command as `argv` and the container's env, files and network. Absent: the image has no
   * executables besides its entrypoint (like `pause`), and every exec fails with exit code 126.
   */
  exec?(process: ContainerProcess): Promise<number>;
}

/** Splits `registry/repo:tag@digest` into repository and tag (default `latest`). */
export function parseImageReference(reference: string): { readonly repository: string; readonly tag: string } | undefined {
  const trimmed = reference.trim();
  if (trimmed === '' || /\s/.test(trimmed)) return undefined;
  const withoutDigest = trimmed.split('@')[0]!;
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  const hasTag = colon > slash;
  let repository = hasTag ? withoutDigest.slice(0, colon) : withoutDigest;
  const tag = hasTag ? withoutDigest.slice(colon + 1) : 'latest';
  // Docker Hub's implicit prefixes: `docker.io/library/nginx` is `nginx`.
  repository = repository.replace(/^docker\.io\//, '').replace(/^library\//, '');
  if (repository === '' || tag === '') return undefined;
  return { repository, tag };
}

/** Images by repository; the runtime pulls from here (an unknown reference fails with ErrImagePull). */
export class ImageRegistry {
  private readonly images = new Map<string, Image>();

  register(image: Image): this {
    if (this.images.has(image.repository)) throw new Error(`image ${image.repository} is registered twice`);
    this.images.set(image.repository, image);
    return this;
  }

  /** The image for a reference, or why there is none (the message ErrImagePull carries). */
  lookup(reference: string): { readonly ok: true; readonly image: Image; readonly tag: string } | { readonly ok: false; readonly message: string } {
    const parsed = parseImageReference(reference);
    if (parsed === undefined) return { ok: false, message: `invalid image reference ${JSON.stringify(reference)}` };
    const image = this.images.get(parsed.repository);
    if (image === undefined) return { ok: false, message: `pull access denied for ${parsed.repository}, repository does not exist (pocketkube has built-in images only: ${[...this.images.keys()].sort().join(', ')})` };
    if (image.tags !== undefined && !image.tags.includes(parsed.tag)) return { ok: false, message: `manifest for ${parsed.repository}:${parsed.tag} not found (tags: ${image.tags.join(', ')})` };
    return { ok: true, image, tag: parsed.tag };
  }

  repositories(): string[] {
    return [...this.images.keys()].sort();
  }
}
