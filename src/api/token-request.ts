/**
 * authentication.k8s.io/v1 TokenRequest, the body of POST serviceaccounts/{name}/token
 * (`kubectl create token`): decoding, defaults and validation as kube-apiserver does them
 * (pkg/apis/authentication/validation and the serviceaccount token REST). Pure: the caller signs.
 */
import { badRequest, type FieldCause, invalid, type Status } from './status.js';
import { asRecord, asString, isRecord, type JsonObject } from './types.js';

export const tokenRequestApiVersion = 'authentication.k8s.io/v1';
/** Upstream's default (SetDefaults_TokenRequestSpec) and the bounds its validation enforces. */
export const tokenRequestDefaultExpirationSeconds = 3600;
export const tokenRequestMinExpirationSeconds = 600;
export const tokenRequestMaxExpirationSeconds = 2 ** 32;
/** Kinds a token may be bound to; the token dies with the object. */
export const bindableKinds = ['Pod', 'Secret', 'Node'] as const;
export type BindableKind = (typeof bindableKinds)[number];

export interface BoundObjectRef {
  readonly kind: BindableKind;
  readonly name: string;
  /** Empty: not checked against the stored object. */
  readonly uid: string;
}

export interface TokenRequestSpec {
  /** Empty: the apiserver's own audiences. */
  readonly audiences: readonly string[];
  readonly expirationSeconds: number;
  readonly boundObjectRef?: BoundObjectRef;
}

export type TokenRequestOutcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly status: Status };

const refuse = (name: string, field: string, message: string): TokenRequestOutcome<never> => {
  const cause: FieldCause = { type: 'FieldValueInvalid', field, message };
  return { ok: false, status: invalid('authentication.k8s.io', 'TokenRequest', name, [cause]) };
};

function decodeExpiration(name: string, raw: unknown): TokenRequestOutcome<number> {
  if (raw === undefined || raw === null) return { ok: true, value: tokenRequestDefaultExpirationSeconds };
  if (typeof raw !== 'number' || !Number.isInteger(raw)) return refuse(name, 'spec.expirationSeconds', `Invalid value: ${JSON.stringify(raw)}: must be an integer`);
  if (raw < tokenRequestMinExpirationSeconds) return refuse(name, 'spec.expirationSeconds', `Invalid value: ${raw}: may not specify a duration less than 10 minutes`);
  if (raw > tokenRequestMaxExpirationSeconds) return refuse(name, 'spec.expirationSeconds', `Invalid value: ${raw}: may not specify a duration larger than 2^32 seconds`);
  return { ok: true, value: raw };
}

function decodeBoundRef(raw: unknown): TokenRequestOutcome<BoundObjectRef | undefined> {
  if (raw === undefined || raw === null) return { ok: true, value: undefined };
  const ref = asRecord(raw);
  const kind = asString(ref?.['kind']) ?? '';
  const apiVersion = asString(ref?.['apiVersion']) ?? 'v1';
  if (apiVersion !== 'v1' || !(bindableKinds as readonly string[]).includes(kind)) {
    return { ok: false, status: badRequest(`cannot bind token to object of type ${apiVersion === 'v1' ? '' : `${apiVersion}, `}Kind=${kind}`) };
  }
  const name = asString(ref?.['name']) ?? '';
  if (name === '') return { ok: false, status: badRequest('spec.boundObjectRef.name: Required value') };
  return { ok: true, value: { kind: kind as BindableKind, name, uid: asString(ref?.['uid']) ?? '' } };
}

/** The request for `serviceAccount`, checked; the body's kind and apiVersion are checked by the caller. */
export function decodeTokenRequest(body: JsonObject, serviceAccount: string): TokenRequestOutcome<TokenRequestSpec> {
  const name = asString(asRecord(body['metadata'])?.['name']) ?? '';
  if (name !== '' && name !== serviceAccount) return refuse(name, 'metadata.name', `Invalid value: "${name}": must match the service account name if specified`);
  const spec = body['spec'] ?? {};
  if (!isRecord(spec)) return { ok: false, status: badRequest('spec must be an object') };
  const rawAudiences = spec['audiences'] ?? [];
  if (!Array.isArray(rawAudiences) || !rawAudiences.every((a) => typeof a === 'string')) {
    return refuse(serviceAccount, 'spec.audiences', 'Invalid value: must be a list of strings');
  }
  const expiration = decodeExpiration(serviceAccount, spec['expirationSeconds']);
  if (!expiration.ok) return expiration;
  const bound = decodeBoundRef(spec['boundObjectRef']);
  if (!bound.ok) return bound;
  return {
    ok: true,
    value: { audiences: rawAudiences, expirationSeconds: expiration.value, ...(bound.value ? { boundObjectRef: bound.value } : {}) },
  };
}

/** The reply: the request with its defaults filled in and `status.token` set. */
export function tokenRequestResponse(input: {
  readonly body: JsonObject;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly spec: TokenRequestSpec;
  readonly token: string;
  readonly expirationTimestamp: string;
}): JsonObject {
  const ref = input.spec.boundObjectRef;
  return {
    kind: 'TokenRequest',
    apiVersion: tokenRequestApiVersion,
    metadata: { ...(asRecord(input.body['metadata']) ?? {}), name: input.serviceAccount, namespace: input.namespace },
    spec: {
      audiences: [...input.spec.audiences],
      expirationSeconds: input.spec.expirationSeconds,
      boundObjectRef: ref ? { kind: ref.kind, apiVersion: 'v1', name: ref.name, uid: ref.uid } : null,
    },
    status: { token: input.token, expirationTimestamp: input.expirationTimestamp },
  };
}
