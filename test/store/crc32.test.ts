import test from 'ava';
import { crc32, crc32Final, crc32Init, crc32Update } from '../../src/store/crc32.js';
import { SeededPrng } from '../../src/runtime/prng.js';

/** The textbook bit-at-a-time CRC-32, as the reference. */
function slowCrc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

test('crc32 matches the check value and the bitwise reference, whole or in pieces', (t) => {
  t.is(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  t.is(crc32(new Uint8Array(0)), 0);
  const prng = new SeededPrng(5);
  for (let length = 0; length < 70; length++) {
    const data = Uint8Array.from({ length }, () => prng.int(256));
    t.is(crc32(data), slowCrc32(data), `length ${length}`);
    const cut = prng.int(length + 1);
    t.is(crc32Final(crc32Update(crc32Update(crc32Init, data, 0, cut), data, cut)), slowCrc32(data));
    if (length > 3) t.is(crc32(data, 1, length - 2), slowCrc32(data.subarray(1, length - 2)));
  }
});
