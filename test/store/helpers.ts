import { MvccStore } from '../../src/store/mvcc.js';
import { Lessor } from '../../src/store/lease.js';
import type { Result } from '../../src/store/types.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
export const b = (text: string): Uint8Array => enc.encode(text);
export const s = (bytes: Uint8Array): string => dec.decode(bytes);

export function must<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`unexpected error ${JSON.stringify(result.error)}`);
  return result.value;
}

export function errorCode<T>(result: Result<T>): string {
  if (result.ok) throw new Error('expected an error');
  return result.error.code;
}

export function storeWithLessor(): { store: MvccStore; lessor: Lessor } {
  const lessor = new Lessor({ minTtlSeconds: 2 });
  return { store: new MvccStore(lessor), lessor };
}
