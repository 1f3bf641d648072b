/**
 * POST serviceaccounts/{name}/token (TokenRequest, `kubectl create token`): a bound ServiceAccount
 * JWT signed with the cluster's ServiceAccount key, as kube-apiserver's
 * pkg/registry/core/serviceaccount/storage/token.go issues it. The account (and a bound object)
 * must exist; a bound object's uid must match the stored one.
 */
import {
  asRecord, asString, conflict, decodeTokenRequest, formatRfc3339, lookupKind, type JsonObject, statusFailure,
  tokenRequestApiVersion, tokenRequestResponse, type BoundObjectRef, type TokenRequestSpec,
} from '../api/index.js';
import type { ApiResponse } from '../client/api-transport.js';
import { defaultServiceAccountIssuer, issueServiceAccountToken } from './auth/service-account-tokens.js';
import type { Registry } from './registry.js';
import { checkTypeAndIdentity, decodeObjectBody, dryRunOf, jsonResponse, statusResponse } from './request.js';
import type { RestCall } from './rest.js';
import { failOf, okOf, type Outcome } from './storage.js';

/** What the apiserver needs to issue tokens (kube-apiserver's --service-account-signing-key-file and friends). */
export interface TokenIssuerConfig {
  readonly signingKeyPem: string;
  /** --service-account-issuer (default https://kubernetes.default.svc.cluster.local). */
  readonly issuer?: string;
  /** --api-audiences: a request without audiences gets these (default [issuer]). */
  readonly audiences?: readonly string[];
  /** --service-account-max-token-expiration: longer requests are shortened to this. */
  readonly maxExpirationSeconds?: number;
}

interface ObjectRef { readonly name: string; readonly uid: string }

const uidOf = (o: JsonObject): string => asString(asRecord(o['metadata'])?.['uid']) ?? '';

/** The stored object a token is bound to, checked against the reference's uid. */
async function boundObject(r: Registry, namespace: string, ref: BoundObjectRef): Promise<Outcome<JsonObject>> {
  const info = lookupKind('v1', ref.kind);
  if (info === undefined) throw new Error(`bindable kind ${ref.kind} is not served`);
  const got = await r.get(info, info.namespaced ? namespace : undefined, ref.name);
  if (!got.ok) return got;
  if (ref.uid !== '' && ref.uid !== uidOf(got.value.object)) {
    return failOf(conflict({ group: '', resource: ref.kind }, ref.name,
      `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`));
  }
  return okOf(got.value.object);
}

/** Pod-bound tokens also name the pod's node, as upstream's claims do. */
async function nodeOfPod(r: Registry, pod: JsonObject): Promise<ObjectRef | undefined> {
  const nodeName = asString(asRecord(pod['spec'])?.['nodeName']);
  const info = lookupKind('v1', 'Node');
  if (nodeName === undefined || nodeName === '' || info === undefined) return undefined;
  const node = await r.get(info, undefined, nodeName);
  return node.ok ? { name: nodeName, uid: uidOf(node.value.object) } : undefined;
}

/** The request, checked: the account and the bound object exist. */
interface CheckedRequest {
  readonly body: JsonObject;
  readonly namespace: string;
  readonly account: JsonObject;
  readonly spec: TokenRequestSpec;
  readonly bound?: { readonly ref: BoundObjectRef; readonly object: JsonObject };
}

async function checkRequest(r: Registry, c: RestCall): Promise<Outcome<CheckedRequest>> {
  const namespace = c.route.namespace!;
  const name = c.route.name!;
  const body = decodeObjectBody(c.body, c.headers['content-type']);
  if (!body.ok) return body;
  const typed = checkTypeAndIdentity(c.route.info, body.value, { namespace, name }, 'TokenRequest', tokenRequestApiVersion);
  if (!typed.ok) return typed;
  const spec = decodeTokenRequest(typed.value, name);
  if (!spec.ok) return spec;
  const account = await r.get(c.route.info, namespace, name);
  if (!account.ok) return account;
  const ref = spec.value.boundObjectRef;
  if (ref === undefined) return okOf({ body: typed.value, namespace, account: account.value.object, spec: spec.value });
  const bound = await boundObject(r, namespace, ref);
  if (!bound.ok) return bound;
  return okOf({ body: typed.value, namespace, account: account.value.object, spec: spec.value, bound: { ref, object: bound.value } });
}

async function sign(r: Registry, config: TokenIssuerConfig, req: CheckedRequest, name: string, nowSeconds: number,
  audiences: readonly string[], expirationSeconds: number): Promise<string> {
  const bound = req.bound === undefined ? undefined : { name: req.bound.ref.name, uid: uidOf(req.bound.object) };
  const kind = req.bound?.ref.kind;
  const node = kind === 'Node' ? bound : kind === 'Pod' ? await nodeOfPod(r, req.bound!.object) : undefined;
  return issueServiceAccountToken({
    signingKey: config.signingKeyPem, namespace: req.namespace, serviceAccountName: name, serviceAccountUid: uidOf(req.account),
    nowSeconds, expirationSeconds, audiences, issuer: config.issuer ?? defaultServiceAccountIssuer,
    ...(kind === 'Pod' && bound ? { pod: bound } : {}),
    ...(node ? { node } : {}),
  });
}

export async function postToken(r: Registry, c: RestCall): Promise<ApiResponse> {
  const config = c.tokenIssuer;
  if (config === undefined) {
    return statusResponse(statusFailure(404, 'NotFound', 'this apiserver issues no ServiceAccount tokens: it was started without a ServiceAccount signing key'));
  }
  const dryRun = dryRunOf(c.query);
  if (!dryRun.ok) return statusResponse(dryRun.status);
  const req = await checkRequest(r, c);
  if (!req.ok) return statusResponse(req.status);
  const name = c.route.name!;
  const audiences = req.value.spec.audiences.length > 0 ? req.value.spec.audiences : (config.audiences ?? [config.issuer ?? defaultServiceAccountIssuer]);
  const expirationSeconds = Math.min(req.value.spec.expirationSeconds, config.maxExpirationSeconds ?? Infinity);
  const nowSeconds = Math.floor(c.nowMs / 1000);
  const token = dryRun.value ? '' : await sign(r, config, req.value, name, nowSeconds, audiences, expirationSeconds);
  return jsonResponse(201, tokenRequestResponse({
    body: req.value.body, namespace: req.value.namespace, serviceAccount: name, token,
    spec: { ...req.value.spec, audiences, expirationSeconds },
    expirationTimestamp: formatRfc3339((nowSeconds + expirationSeconds) * 1000),
  }));
}
