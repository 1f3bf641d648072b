/**
 * `/livez`, `/readyz` and `/healthz` as kube-apiserver answers them (k8s.io/apiserver's healthz
 * handlers): `ok`, or with `?verbose` one `[+]name ok` line per check and `<endpoint> check
 * passed`; on any failure HTTP 500 listing every check (`[-]name failed: reason`) and `<endpoint>
 * check failed`; `?exclude=name` skips a check; `/readyz/<name>` runs one. Unlike kube-apiserver
 * the failure reason is shown, not withheld: this cluster is for looking inside.
 */
import type { ApiResponse } from '../client/api-transport.js';
import { pathNotFound, textResponse } from './discovery.js';

export type HealthEndpoint = 'livez' | 'readyz' | 'healthz';

export interface HealthCheck {
  readonly name: string;
  /** undefined when healthy, else why not. */
  run(): Promise<string | undefined>;
}

/** Answers `path` (`/readyz`, `/readyz/etcd`, ...) if it is a health endpoint, else undefined. */
export async function answerHealth(
  path: string, query: Readonly<Record<string, string>>, checksOf: (endpoint: HealthEndpoint) => readonly HealthCheck[],
): Promise<ApiResponse | undefined> {
  const [, endpoint, single, ...rest] = path.split('/');
  if (endpoint !== 'livez' && endpoint !== 'readyz' && endpoint !== 'healthz') return undefined;
  const checks = checksOf(endpoint);
  if (single !== undefined) {
    const check = checks.find((c) => c.name === single);
    if (check === undefined || rest.length > 0) return pathNotFound();
    const failure = await check.run();
    return failure === undefined ? textResponse(200, 'ok') : textResponse(500, `internal server error: ${failure}`);
  }
  const excluded = new Set((query['exclude'] ?? '').split(',').filter((name) => name !== ''));
  const selected = checks.filter((c) => !excluded.has(c.name));
  const failures = await Promise.all(selected.map((c) => c.run()));
  const lines = selected.map((c, i) => (failures[i] === undefined ? `[+]${c.name} ok` : `[-]${c.name} failed: ${failures[i]}`));
  if (failures.some((f) => f !== undefined)) return textResponse(500, `${lines.join('\n')}\n${endpoint} check failed\n`);
  return textResponse(200, 'verbose' in query ? `${lines.join('\n')}\n${endpoint} check passed\n` : 'ok');
}
