/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), table driven, as used by zlib and
 * etcd's WAL (etcd uses Castagnoli; any 32-bit CRC serves here: the WAL format is our own).
 */
const table = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** Continue a CRC over `data[start, end)`; start from `crc32Init` and finish with `crc32Final`. */
export function crc32Update(state: number, data: Uint8Array, start = 0, end = data.length): number {
  let c = state;
  for (let i = start; i < end; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return c;
}

export const crc32Init = 0xffffffff;

export function crc32Final(state: number): number {
  return (state ^ 0xffffffff) >>> 0;
}

export function crc32(data: Uint8Array, start = 0, end = data.length): number {
  return crc32Final(crc32Update(crc32Init, data, start, end));
}
