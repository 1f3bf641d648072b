/**
 * ServiceAccount tokens: RS256 JWTs in the shape kube-apiserver's TokenRequest API issues (bound
 * tokens), verified by signature, issuer, audience and time. Pure apart from crypto: time is a
 * parameter (seconds since the epoch), existence checks go through an injected lookup.
 */
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { serviceAccountGroups, serviceAccountUsername, type UserInfo } from './user.js';

export const defaultServiceAccountIssuer = 'https://kubernetes.default.svc.cluster.local';
/** TokenRequest's default and minimum lifetimes (Kubernetes: 1 h, at least 10 min). */
const defaultTokenExpirationSeconds = 3600;
const minTokenExpirationSeconds = 600;
const maxTokenExpirationSeconds = 365 * 24 * 3600;
/** Clock skew tolerated on exp/nbf/iat, go-jose's DefaultLeeway as used by Kubernetes. */
export const tokenLeewaySeconds = 60;
const maxTokenBytes = 16 * 1024;

/** Extra keys Kubernetes puts on a ServiceAccount user bound to a pod. */
const extraKeys = {
  podName: 'authentication.kubernetes.io/pod-name',
  podUid: 'authentication.kubernetes.io/pod-uid',
  nodeName: 'authentication.kubernetes.io/node-name',
  nodeUid: 'authentication.kubernetes.io/node-uid',
  credentialId: 'authentication.kubernetes.io/credential-id',
} as const;

interface ObjectRef { readonly name: string; readonly uid: string }

export interface ServiceAccountClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: readonly string[];
  readonly exp: number;
  readonly iat: number;
  readonly nbf: number;
  readonly jti: string;
  readonly 'kubernetes.io': {
    readonly namespace: string;
    readonly serviceaccount: ObjectRef;
    readonly pod?: ObjectRef;
    readonly node?: ObjectRef;
  };
}

export interface IssueServiceAccountTokenInput {
  readonly signingKey: string | KeyObject;
  readonly namespace: string;
  readonly serviceAccountName: string;
  readonly serviceAccountUid: string;
  readonly nowSeconds: number;
  readonly expirationSeconds?: number;
  /** Defaults to [issuer], like kube-apiserver's --api-audiences default. */
  readonly audiences?: readonly string[];
  readonly issuer?: string;
  readonly pod?: ObjectRef;
  readonly node?: ObjectRef;
  /** Defaults to a random UUID. */
  readonly jti?: string;
}

/** Kubernetes' key id: base64url(SHA-256(DER SubjectPublicKeyInfo)). */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url');
}

function asKey(key: string | KeyObject, kind: 'private' | 'public'): KeyObject {
  if (typeof key !== 'string') return key;
  return kind === 'private' ? createPrivateKey(key) : createPublicKey(key);
}

const b64json = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

export function issueServiceAccountToken(input: IssueServiceAccountTokenInput): string {
  const expirationSeconds = input.expirationSeconds ?? defaultTokenExpirationSeconds;
  if (!Number.isInteger(expirationSeconds) || expirationSeconds < minTokenExpirationSeconds ||
    expirationSeconds > maxTokenExpirationSeconds) {
    throw new Error(`expirationSeconds must be an integer in [${minTokenExpirationSeconds}, ${maxTokenExpirationSeconds}]`);
  }
  if (input.namespace === '' || input.serviceAccountName === '') throw new Error('namespace and name are required');
  const key = asKey(input.signingKey, 'private');
  if (key.asymmetricKeyType !== 'rsa') throw new Error('ServiceAccount tokens are RS256: the signing key must be RSA');
  const issuer = input.issuer ?? defaultServiceAccountIssuer;
  const now = Math.floor(input.nowSeconds);
  const claims: ServiceAccountClaims = {
    aud: [...(input.audiences ?? [issuer])],
    exp: now + expirationSeconds, iat: now, nbf: now,
    iss: issuer,
    jti: input.jti ?? randomUUID(),
    'kubernetes.io': {
      namespace: input.namespace,
      ...(input.node === undefined ? {} : { node: input.node }),
      ...(input.pod === undefined ? {} : { pod: input.pod }),
      serviceaccount: { name: input.serviceAccountName, uid: input.serviceAccountUid },
    },
    sub: serviceAccountUsername(input.namespace, input.serviceAccountName),
  };
  const signingInput = `${b64json({ alg: 'RS256', kid: keyIdOf(createPublicKey(key)) })}.${b64json(claims)}`;
  return `${signingInput}.${sign('sha256', Buffer.from(signingInput), key).toString('base64url')}`;
}

export type TokenVerification =
  | { readonly ok: true; readonly user: UserInfo; readonly claims: ServiceAccountClaims }
  | { readonly ok: false; readonly reason: string };

/** Answers whether the objects a token names still exist; undefined means deleted. */
export interface ServiceAccountLookup {
  serviceAccountUid(namespace: string, name: string): string | undefined;
  podUid?(namespace: string, name: string): string | undefined;
}

export interface ServiceAccountTokenVerifierOptions {
  /** Several keys allow rotation: tokens signed by any of them verify. */
  readonly publicKeys: readonly (string | KeyObject)[];
  readonly issuers?: readonly string[];
  /** Defaults to the issuers, like kube-apiserver. */
  readonly audiences?: readonly string[];
  readonly lookup?: ServiceAccountLookup;
}

const fail = (reason: string): TokenVerification => ({ ok: false, reason });

/** True when the string looks like a JWT at all (so other authenticators can be tried first). */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

function parseJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isRef = (v: unknown): v is ObjectRef => isRecord(v) && isString(v.name) && isString(v.uid);

/** Shape check of the claims; values are checked by the verifier. */
function asClaims(value: unknown): ServiceAccountClaims | undefined {
  if (!isRecord(value)) return undefined;
  const k = value['kubernetes.io'];
  const aud = typeof value.aud === 'string' ? [value.aud] : value.aud;
  if (!isString(value.iss) || !isString(value.sub) || !Array.isArray(aud) || !aud.every(isString)) return undefined;
  if (typeof value.exp !== 'number' || !isRecord(k) || !isString(k.namespace) || !isRef(k.serviceaccount)) return undefined;
  if ((k.pod !== undefined && !isRef(k.pod)) || (k.node !== undefined && !isRef(k.node))) return undefined;
  const num = (v: unknown, dflt: number): number => (typeof v === 'number' ? v : dflt);
  return {
    iss: value.iss, sub: value.sub, aud, exp: value.exp, iat: num(value.iat, 0), nbf: num(value.nbf, 0),
    jti: isString(value.jti) ? value.jti : '',
    'kubernetes.io': {
      namespace: k.namespace, serviceaccount: k.serviceaccount,
      ...(k.pod === undefined ? {} : { pod: k.pod as ObjectRef }),
      ...(k.node === undefined ? {} : { node: k.node as ObjectRef }),
    },
  };
}

export class ServiceAccountTokenVerifier {
  private readonly keys: ReadonlyMap<string, KeyObject>;
  private readonly issuers: ReadonlySet<string>;
  private readonly audiences: ReadonlySet<string>;

  constructor(private readonly options: ServiceAccountTokenVerifierOptions) {
    if (options.publicKeys.length === 0) throw new Error('ServiceAccountTokenVerifier needs at least one key');
    this.keys = new Map(options.publicKeys.map((k) => {
      const key = asKey(k, 'public');
      return [keyIdOf(key), key] as const;
    }));
    this.issuers = new Set(options.issuers ?? [defaultServiceAccountIssuer]);
    this.audiences = new Set(options.audiences ?? [...this.issuers]);
  }

  verify(token: string, nowSeconds: number): TokenVerification {
    if (token.length > maxTokenBytes) return fail('token too large');
    if (!looksLikeJwt(token)) return fail('not a JWT');
    const [headerPart, payloadPart, signaturePart] = token.split('.') as [string, string, string];
    const header = parseJson(headerPart);
    // Only RS256: accepting the header's choice would allow "none" and HMAC-with-public-key forgeries.
    if (!isRecord(header) || header.alg !== 'RS256') return fail('unsupported JWT algorithm');
    if (!this.signatureValid(header.kid, `${headerPart}.${payloadPart}`, Buffer.from(signaturePart, 'base64url'))) {
      return fail('invalid signature');
    }
    const claims = asClaims(parseJson(payloadPart));
    if (claims === undefined) return fail('malformed ServiceAccount claims');
    return this.checkClaims(claims, nowSeconds);
  }

  private signatureValid(kid: unknown, signingInput: string, signature: Buffer): boolean {
    const candidates = isString(kid) && this.keys.has(kid) ? [this.keys.get(kid)!] : [...this.keys.values()];
    return candidates.some((key) => verify('sha256', Buffer.from(signingInput), key, signature));
  }

  private checkClaims(claims: ServiceAccountClaims, nowSeconds: number): TokenVerification {
    if (!this.issuers.has(claims.iss)) return fail(`unknown issuer ${JSON.stringify(claims.iss)}`);
    if (!claims.aud.some((a) => this.audiences.has(a))) return fail('token audiences do not match the apiserver audiences');
    if (nowSeconds > claims.exp + tokenLeewaySeconds) return fail('token has expired');
    if (nowSeconds + tokenLeewaySeconds < claims.nbf || nowSeconds + tokenLeewaySeconds < claims.iat) {
      return fail('token is not valid yet');
    }
    const k = claims['kubernetes.io'];
    if (claims.sub !== serviceAccountUsername(k.namespace, k.serviceaccount.name)) return fail('subject does not match claims');
    const lookupProblem = this.lookupProblem(claims);
    if (lookupProblem !== undefined) return fail(lookupProblem);
    return { ok: true, user: userOf(claims), claims };
  }

  private lookupProblem(claims: ServiceAccountClaims): string | undefined {
    const lookup = this.options.lookup;
    if (lookup === undefined) return undefined;
    const k = claims['kubernetes.io'];
    const saUid = lookup.serviceAccountUid(k.namespace, k.serviceaccount.name);
    if (saUid === undefined) return `serviceaccount ${k.namespace}/${k.serviceaccount.name} not found`;
    if (saUid !== k.serviceaccount.uid) return `serviceaccount ${k.namespace}/${k.serviceaccount.name} was recreated`;
    if (k.pod !== undefined && lookup.podUid !== undefined) {
      const podUid = lookup.podUid(k.namespace, k.pod.name);
      if (podUid !== k.pod.uid) return `bound pod ${k.namespace}/${k.pod.name} no longer exists`;
    }
    return undefined;
  }
}

function userOf(claims: ServiceAccountClaims): UserInfo {
  const k = claims['kubernetes.io'];
  const extra: Record<string, string[]> = {};
  if (k.pod !== undefined) {
    extra[extraKeys.podName] = [k.pod.name];
    extra[extraKeys.podUid] = [k.pod.uid];
  }
  if (k.node !== undefined) {
    extra[extraKeys.nodeName] = [k.node.name];
    extra[extraKeys.nodeUid] = [k.node.uid];
  }
  if (claims.jti !== '') extra[extraKeys.credentialId] = [`JTI=${claims.jti}`];
  return { username: claims.sub, uid: k.serviceaccount.uid, groups: serviceAccountGroups(k.namespace), extra };
}

/** One-shot form of `ServiceAccountTokenVerifier.verify`; build the verifier once on hot paths. */
export function verifyServiceAccountToken(token: string, nowSeconds: number, options: ServiceAccountTokenVerifierOptions):
  TokenVerification {
  return new ServiceAccountTokenVerifier(options).verify(token, nowSeconds);
}
