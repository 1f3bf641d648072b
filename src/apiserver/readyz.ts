import { request } from 'node:https';

/** One `GET /readyz` over TLS trusting the cluster CA: true only for a 200. */
export function readyz(url: string, caPem: string, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((done) => {
    const req = request(new URL('/readyz', url), { ca: caPem, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode === 200));
      res.on('error', () => done(false));
    });
    req.on('timeout', () => { req.destroy(); done(false); });
    req.on('error', () => done(false));
    req.end();
  });
}
