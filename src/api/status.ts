/**
 * meta/v1 Status failures, worded like k8s.io/apimachinery/pkg/api/errors so kubectl prints the
 * messages users expect.
 */
export type StatusReason =
  | 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Invalid' | 'BadRequest' | 'Forbidden' | 'Unauthorized'
  | 'MethodNotAllowed' | 'UnsupportedMediaType' | 'RequestEntityTooLarge' | 'Expired' | 'Gone'
  | 'TooManyRequests' | 'InternalError' | 'Timeout' | 'ServiceUnavailable' | 'NotAcceptable';

export type CauseType =
  | 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueDuplicate' | 'FieldValueNotSupported'
  | 'FieldValueForbidden' | 'FieldValueTooLong' | 'FieldValueNotFound' | 'FieldValueTypeInvalid' | 'FieldValueTooMany' | 'FieldManagerConflict'
  | 'UnexpectedServerResponse'
  /** policy: an eviction refused by a PodDisruptionBudget (upstream's EvictionCause DisruptionBudget). */
  | 'DisruptionBudget';

export interface StatusCause {
  reason?: CauseType;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: StatusReason;
  details?: StatusDetails;
  code: number;
}

export function statusFailure(code: number, reason: StatusReason, message: string, details?: StatusDetails): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details !== undefined) s.details = details;
  return s;
}

/** The resource as errors name it: "pods", "deployments.apps". */
export interface GroupResource {
  group: string;
  resource: string;
}

export function qualifiedResource(gr: GroupResource): string {
  return gr.group === '' ? gr.resource : `${gr.resource}.${gr.group}`;
}

function grDetails(gr: GroupResource, name: string): StatusDetails {
  const d: StatusDetails = { kind: gr.resource };
  if (name !== '') d.name = name;
  if (gr.group !== '') d.group = gr.group;
  return d;
}

export function notFound(gr: GroupResource, name: string): Status {
  const what = name === '' ? qualifiedResource(gr) : `${qualifiedResource(gr)} "${name}"`;
  return statusFailure(404, 'NotFound', `${what} not found`, grDetails(gr, name));
}

export function alreadyExists(gr: GroupResource, name: string): Status {
  return statusFailure(409, 'AlreadyExists', `${qualifiedResource(gr)} "${name}" already exists`, grDetails(gr, name));
}

export const optimisticLockMessage = 'the object has been modified; please apply your changes to the latest version and try again';

export function conflict(gr: GroupResource, name: string, reason: string = optimisticLockMessage, causes?: StatusCause[]): Status {
  const d = grDetails(gr, name);
  if (causes !== undefined) d.causes = causes;
  return statusFailure(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(gr)} "${name}": ${reason}`, d);
}

/** A field error as apimachinery's field.Error: `field: body`. */
export interface FieldCause {
  type: 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueDuplicate' | 'FieldValueNotSupported'
    | 'FieldValueForbidden' | 'FieldValueTooLong' | 'FieldValueNotFound' | 'FieldValueTypeInvalid' | 'FieldValueTooMany';
  field: string;
  message: string;
}

export function fieldCauseString(c: FieldCause): string {
  return `${c.field}: ${c.message}`;
}

/** 422 Invalid: `Deployment.apps "x" is invalid: [a: Required value, b: ...]`. `kind` is the Kind, not the resource. */
export function invalid(group: string, kind: string, name: string, causes: readonly FieldCause[]): Status {
  const parts = causes.map(fieldCauseString);
  const agg = parts.length === 1 ? (parts[0] ?? '') : `[${parts.join(', ')}]`;
  const d: StatusDetails = { name, kind, causes: causes.map((c) => ({ reason: c.type, message: c.message, field: c.field })) };
  if (group !== '') d.group = group;
  const qualifiedKind = group === '' ? kind : `${kind}.${group}`;
  return statusFailure(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${agg}`, d);
}

export function badRequest(message: string): Status {
  return statusFailure(400, 'BadRequest', message);
}

export function forbidden(gr: GroupResource, name: string, why: string): Status {
  const what = name === '' ? qualifiedResource(gr) : `${qualifiedResource(gr)} "${name}"`;
  return statusFailure(403, 'Forbidden', `${what} is forbidden: ${why}`, grDetails(gr, name));
}

export function unauthorized(message = 'Unauthorized'): Status {
  return statusFailure(401, 'Unauthorized', message);
}

export function methodNotAllowed(): Status {
  return statusFailure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

export function unsupportedMediaType(contentType: string, accepted: readonly string[]): Status {
  return statusFailure(415, 'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    { causes: [{ message: `unsupported media type "${contentType}"` }] });
}

export function notAcceptable(accepted: readonly string[]): Status {
  return statusFailure(406, 'NotAcceptable', `only the following media types are accepted: ${accepted.join(', ')}`);
}

export function requestEntityTooLarge(limitBytes: number): Status {
  return statusFailure(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limitBytes}`);
}

/** 410 Expired: what a watch from a compacted resourceVersion gets. */
export function expired(requestedRv: string, oldestRv: string): Status {
  return statusFailure(410, 'Expired', `too old resource version: ${requestedRv} (${oldestRv})`);
}

export function gone(message: string): Status {
  return statusFailure(410, 'Gone', message);
}

export function tooManyRequests(message: string, retryAfterSeconds: number): Status {
  return statusFailure(429, 'TooManyRequests', message, { retryAfterSeconds });
}

export function internalError(cause: string): Status {
  return statusFailure(500, 'InternalError', `Internal error occurred: ${cause}`, { causes: [{ message: cause }] });
}

export function timeout(message = 'Timeout: request did not complete within requested timeout', retryAfterSeconds?: number): Status {
  return statusFailure(504, 'Timeout', message, retryAfterSeconds === undefined ? undefined : { retryAfterSeconds });
}

export function serviceUnavailable(message: string): Status {
  return statusFailure(503, 'ServiceUnavailable', message);
}

/** `fieldValidation=Strict` rejection for unknown fields. */
export function strictDecodingError(unknownFields: readonly string[]): Status {
  const msgs = unknownFields.map((f) => `unknown field "${f}"`);
  return badRequest(`strict decoding error: ${msgs.join(', ')}`);
}

export function isStatus(value: unknown): value is Status {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'Status';
}
