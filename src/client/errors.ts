/**
 * Client errors, two families that callers must tell apart (as client-go does):
 * - `ApiError`: the apiserver answered with a failure Status (404, 409, 410, 422, 5xx...). The
 *   request reached the server; for writes, a 4xx means it certainly did not happen.
 * - `TransportError`: no answer (timeout, unreachable, stream broken). For writes, the outcome is
 *   unknown. Transports (HTTPS, actor messages) should reject with one of these.
 */
import { isStatus, statusFailure, type Status, type StatusReason } from '../api/index.js';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(readonly status: Status) {
    super(status.message);
  }

  get code(): number {
    return this.status.code;
  }

  get reason(): StatusReason {
    return this.status.reason;
  }

  /** Seconds the server asked us to wait (429, 503, 504), when it said. */
  get retryAfterSeconds(): number | undefined {
    return this.status.details?.retryAfterSeconds;
  }
}

export type TransportFailure = 'timeout' | 'unreachable' | 'broken' | 'protocol';

export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(readonly failure: TransportFailure, message: string) {
    super(message);
  }
}

export type ClientError = ApiError | TransportError;

const reasonByCode: Readonly<Record<number, StatusReason>> = {
  400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed',
  406: 'NotAcceptable', 409: 'Conflict', 410: 'Gone', 413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType',
  422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout',
};

/**
 * The ApiError for a non-2xx response. A body that is not a Status (a proxy's HTML page, plain
 * text) still yields a Status built from the code, as client-go's `NewGenericServerResponse`.
 */
export function apiErrorFromResponse(code: number, body: unknown): ApiError {
  if (isStatus(body) && typeof body.code === 'number' && typeof body.message === 'string') {
    return new ApiError(body);
  }
  const reason = reasonByCode[code] ?? 'InternalError';
  const text = typeof body === 'string' ? body.slice(0, 200) : '';
  return new ApiError(statusFailure(code, reason, `the server responded with status ${code}${text === '' ? '' : `: ${text}`}`));
}

/** Wraps anything a transport threw: TransportErrors pass through, the rest count as unreachable. */
export function asTransportError(error: unknown): TransportError {
  if (error instanceof TransportError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new TransportError('unreachable', message);
}

function apiReason(error: unknown): { code: number; reason: StatusReason } | undefined {
  return error instanceof ApiError ? { code: error.code, reason: error.reason } : undefined;
}

export function isNotFound(error: unknown): boolean {
  return apiReason(error)?.reason === 'NotFound' || apiReason(error)?.code === 404;
}

export function isConflict(error: unknown): boolean {
  return apiReason(error)?.reason === 'Conflict';
}

export function isAlreadyExists(error: unknown): boolean {
  return apiReason(error)?.reason === 'AlreadyExists';
}

/** 410: the resourceVersion (or continue token) is too old; re-list. */
export function isGone(error: unknown): boolean {
  const r = apiReason(error);
  return r !== undefined && (r.code === 410 || r.reason === 'Expired' || r.reason === 'Gone');
}

export function isForbidden(error: unknown): boolean {
  return apiReason(error)?.code === 403;
}

export function isInvalid(error: unknown): boolean {
  return apiReason(error)?.reason === 'Invalid';
}

export function isTransportError(error: unknown): error is TransportError {
  return error instanceof TransportError;
}

export function isTimeout(error: unknown): boolean {
  if (error instanceof TransportError) return error.failure === 'timeout';
  return apiReason(error)?.code === 504;
}

/**
 * Whether repeating the request may succeed: no answer, or the server said it was busy or
 * failing. Only idempotent requests (GET, LIST, WATCH) may be repeated blindly.
 */
export function isRetriable(error: unknown): boolean {
  if (error instanceof TransportError) return true;
  const r = apiReason(error);
  if (r === undefined) return false;
  return r.code === 429 || r.code === 500 || r.code === 502 || r.code === 503 || r.code === 504;
}
