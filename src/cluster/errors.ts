/**
 * Why `Cluster.start` could not start, as types a caller can act on (the CLI turns each into the
 * flag that fixes it). Other failures stay plain errors.
 */
export { DataDirLockedError } from './data-dir-lock.js';

/** Who wanted the address: the front door, or one master's apiserver. */
export type AddressUser = { readonly kind: 'front-door' } | { readonly kind: 'apiserver'; readonly master: string };

function describe(user: AddressUser): string {
  switch (user.kind) {
    case 'front-door': return 'the front door';
    case 'apiserver': return `the apiserver of ${user.master}`;
    default: {
      const never: never = user;
      throw new Error(`unknown address user ${JSON.stringify(never)}`);
    }
  }
}

/** An address the cluster must listen on is taken by another process (EADDRINUSE). */
export class AddressInUseError extends Error {
  constructor(readonly host: string, readonly port: number, readonly user: AddressUser) {
    super(`port ${port} on ${host} (${describe(user)}) is already in use by another process`);
    this.name = 'AddressInUseError';
  }
}

/** Turns a listen error into AddressInUseError when it is EADDRINUSE; anything else is returned as it is. */
export function addressInUse(error: unknown, host: string, port: number, user: AddressUser): unknown {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE' ? new AddressInUseError(host, port, user) : error;
}
