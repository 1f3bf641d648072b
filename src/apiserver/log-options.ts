/**
 * The parts of pods/log's query that pick which lines (PodLogOptions): `sinceSeconds`,
 * `sinceTime` and `limitBytes`, checked as upstream's validation does. The kubelet turns the
 * window into the runtime's `sinceMs` with its own clock.
 */
import { badRequest } from '../api/index.js';
import { parseRfc3339 } from '../api/time.js';
import { failOf, okOf, type Outcome } from './storage.js';

// A type, not an interface: it is part of actor messages, which need an index signature.
export type LogWindow = {
  readonly sinceSeconds?: number;
  /** sinceTime as epoch milliseconds. */
  readonly sinceTimeMs?: number;
  readonly limitBytes?: number;
};

const positiveInteger = /^[1-9][0-9]{0,9}$/;

export function logWindowOf(get: (name: string) => string | undefined): Outcome<LogWindow> {
  const sinceSeconds = get('sinceSeconds');
  const sinceTime = get('sinceTime');
  const limitBytes = get('limitBytes');
  if (sinceSeconds !== undefined && sinceTime !== undefined) return failOf(badRequest('at most one of sinceTime or sinceSeconds may be specified'));
  if (sinceSeconds !== undefined && !positiveInteger.test(sinceSeconds)) return failOf(badRequest(`sinceSeconds: Invalid value: "${sinceSeconds}": must be greater than 0`));
  if (limitBytes !== undefined && !positiveInteger.test(limitBytes)) return failOf(badRequest(`limitBytes: Invalid value: "${limitBytes}": must be greater than 0`));
  const sinceTimeMs = sinceTime === undefined ? undefined : parseRfc3339(sinceTime);
  if (sinceTime !== undefined && sinceTimeMs === undefined) return failOf(badRequest(`sinceTime: Invalid value: "${sinceTime}": must be an RFC 3339 time`));
  return okOf({
    ...(sinceSeconds === undefined ? {} : { sinceSeconds: Number(sinceSeconds) }),
    ...(sinceTimeMs === undefined ? {} : { sinceTimeMs }),
    ...(limitBytes === undefined ? {} : { limitBytes: Number(limitBytes) }),
  });
}

/** The runtime's `sinceMs` for a window, at `nowMs` (the kubelet's wall clock). */
export function sinceMsOf(window: LogWindow, nowMs: number): number | undefined {
  if (window.sinceTimeMs !== undefined) return window.sinceTimeMs;
  return window.sinceSeconds === undefined ? undefined : nowMs - window.sinceSeconds * 1000;
}
