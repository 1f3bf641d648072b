/**
 * Pod IP allocation through a CNI-shaped plugin (ADD / DEL / CHECK), so a user can swap in their
 * own. The built-in plugin is host-local IPAM over the node's pod CIDR: like upstream's
 * host-local it hands out addresses round-robin from the last one allocated (an address just
 * released is not reused at once, so a stale client of a dead pod does not reach a new one).
 */

export type CniResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

export interface CniPlugin {
  /** ADD: the sandbox's IP (the same one again when asked twice for one sandbox). */
  add(sandboxId: string, podCidr: string): CniResult<string>;
  /** DEL: releases the sandbox's address; deleting an unknown sandbox is not an error (CNI spec). */
  del(sandboxId: string): void;
  /** CHECK: whether the sandbox still holds its address. */
  check(sandboxId: string): CniResult<string>;
}

export interface Ipv4Cidr {
  readonly base: number;
  readonly prefixBits: number;
}

/** The smallest and largest block a node's pod CIDR may be. */
const prefixBitsMin = 16;
const prefixBitsMax = 30;

function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

export function parseCidr(text: string): CniResult<Ipv4Cidr> {
  const [address, bits, extra] = text.split('/');
  const base = address === undefined ? undefined : parseIpv4(address);
  const prefixBits = Number(bits);
  if (base === undefined || extra !== undefined || !Number.isInteger(prefixBits) || prefixBits < 0 || prefixBits > 32) {
    return { ok: false, message: `invalid CIDR ${JSON.stringify(text)}: want a.b.c.d/n` };
  }
  const mask = prefixBits === 0 ? 0 : (0xffffffff << (32 - prefixBits)) >>> 0;
  return { ok: true, value: { base: (base & mask) >>> 0, prefixBits } };
}

export function cidrContains(cidr: Ipv4Cidr, ip: string): boolean {
  const value = parseIpv4(ip);
  if (value === undefined) return false;
  const mask = cidr.prefixBits === 0 ? 0 : (0xffffffff << (32 - cidr.prefixBits)) >>> 0;
  return ((value & mask) >>> 0) === cidr.base;
}

/** host-local IPAM: addresses .2 up to the last before broadcast (.1 is the gateway by convention). */
export class HostLocalIpam implements CniPlugin {
  private readonly bySandbox = new Map<string, number>();
  private readonly inUse = new Set<number>();
  private range: { readonly cidr: string; readonly first: number; readonly last: number } | undefined;
  private lastAllocated: number | undefined;

  add(sandboxId: string, podCidr: string): CniResult<string> {
    const held = this.bySandbox.get(sandboxId);
    if (held !== undefined) return { ok: true, value: formatIpv4(held) };
    const range = this.rangeFor(podCidr);
    if (!range.ok) return range;
    const { first, last } = range.value;
    const size = last - first + 1;
    const start = this.lastAllocated === undefined ? first : this.lastAllocated + 1;
    for (let i = 0; i < size; i++) {
      const candidate = first + ((start - first + i) % size);
      if (this.inUse.has(candidate)) continue;
      this.inUse.add(candidate);
      this.bySandbox.set(sandboxId, candidate);
      this.lastAllocated = candidate;
      return { ok: true, value: formatIpv4(candidate) };
    }
    return { ok: false, message: `failed to allocate for range 0: no IP addresses available in range set: ${formatIpv4(first)}-${formatIpv4(last)}` };
  }

  del(sandboxId: string): void {
    const held = this.bySandbox.get(sandboxId);
    if (held === undefined) return;
    this.bySandbox.delete(sandboxId);
    this.inUse.delete(held);
  }

  check(sandboxId: string): CniResult<string> {
    const held = this.bySandbox.get(sandboxId);
    return held === undefined ? { ok: false, message: `sandbox ${sandboxId} holds no address` } : { ok: true, value: formatIpv4(held) };
  }

  allocated(): number {
    return this.inUse.size;
  }

  private rangeFor(podCidr: string): CniResult<{ readonly first: number; readonly last: number }> {
    if (this.range?.cidr === podCidr) return { ok: true, value: this.range };
    const parsed = parseCidr(podCidr);
    if (!parsed.ok) return parsed;
    const { base, prefixBits } = parsed.value;
    if (prefixBits < prefixBitsMin || prefixBits > prefixBitsMax) return { ok: false, message: `pod CIDR ${podCidr}: prefix must be /${prefixBitsMin}../${prefixBitsMax}` };
    if (this.inUse.size > 0) return { ok: false, message: `pod CIDR changed to ${podCidr} while ${this.inUse.size} addresses of ${this.range?.cidr} are in use` };
    const broadcast = base + 2 ** (32 - prefixBits) - 1;
    this.range = { cidr: podCidr, first: base + 2, last: broadcast - 1 };
    this.lastAllocated = undefined;
    return { ok: true, value: this.range };
  }
}
