/**
 * Actor addresses are `host/actor`, e.g. `master-2/etcd` or `worker-3/kubelet`. A host is the unit
 * that lives and dies together (a machine); network faults are given per host link.
 */
export type Address = `${string}/${string}`;

const PART = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;

export function address(host: string, actor: string): Address {
  const candidate = `${host}/${actor}`;
  assertAddress(candidate);
  return candidate;
}

export function isAddress(value: unknown): value is Address {
  if (typeof value !== 'string') return false;
  const slash = value.indexOf('/');
  if (slash <= 0 || slash !== value.lastIndexOf('/')) return false;
  return PART.test(value.slice(0, slash)) && PART.test(value.slice(slash + 1));
}

function assertAddress(value: unknown): asserts value is Address {
  if (!isAddress(value)) {
    throw new Error(`invalid actor address ${JSON.stringify(value)}: expected "host/actor" in lower-case DNS-label form`);
  }
}

export function hostOf(addr: Address): string {
  return addr.slice(0, addr.indexOf('/'));
}

export function actorOf(addr: Address): string {
  return addr.slice(addr.indexOf('/') + 1);
}

export function isHostName(value: unknown): value is string {
  return typeof value === 'string' && PART.test(value);
}
