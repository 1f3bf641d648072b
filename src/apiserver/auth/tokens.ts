/**
 * Bearer-token authentication: a static token table (like kube-apiserver's --token-auth-file) for the
 * admin and the cluster's own components, ServiceAccount JWTs, and anonymous requests.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readOptional, secretFileMode, writeAtomic } from './files.js';
import { looksLikeJwt, type ServiceAccountTokenVerifier } from './service-account-tokens.js';
import { anonymousUser, wellKnown, type UserInfo } from './user.js';

export {
    ServiceAccountTokenVerifier,
} from './service-account-tokens.js';

const staticTokenBytes = 32;
const maxStaticTokens = 10_000;
const tokensFileName = 'tokens.json';
const tokensFileVersion = 1;

export interface StaticTokenEntry {
  readonly token: string;
  readonly username: string;
  readonly uid?: string;
  readonly groups: readonly string[];
}

/** The identities a cluster needs, one per component (one per kubelet). */
export function clusterIdentities(nodeNames: readonly string[]): Omit<StaticTokenEntry, 'token'>[] {
  return [
    { username: wellKnown.adminUser, groups: [wellKnown.mastersGroup, wellKnown.authenticatedGroup] },
    { username: wellKnown.schedulerUser, groups: [wellKnown.authenticatedGroup] },
    { username: wellKnown.controllerManagerUser, groups: [wellKnown.authenticatedGroup] },
    { username: wellKnown.kubeProxyUser, groups: [wellKnown.authenticatedGroup] },
    ...nodeNames.map((n) => ({
      username: `${wellKnown.nodeUserPrefix}${n}`, groups: [wellKnown.nodesGroup, wellKnown.authenticatedGroup],
    })),
  ];
}

export function newStaticToken(): string {
  return randomBytes(staticTokenBytes).toString('hex');
}

/** The persisted token table, with lookups by identity for the code that hands tokens out. */
export class StaticTokens {
  private readonly byUsername: ReadonlyMap<string, StaticTokenEntry>;

  constructor(readonly entries: readonly StaticTokenEntry[]) {
    if (entries.length > maxStaticTokens) throw new Error(`more than ${maxStaticTokens} static tokens`);
    this.byUsername = new Map(entries.map((e) => [e.username, e]));
    if (this.byUsername.size !== entries.length) throw new Error('static tokens: duplicate username');
    if (new Set(entries.map((e) => e.token)).size !== entries.length) throw new Error('static tokens: duplicate token');
  }

  tokenFor(username: string): string {
    const entry = this.byUsername.get(username);
    if (entry === undefined) throw new Error(`no static token for ${username}`);
    return entry.token;
  }

  get adminToken(): string { return this.tokenFor(wellKnown.adminUser); }
  nodeToken(nodeName: string): string { return this.tokenFor(`${wellKnown.nodeUserPrefix}${nodeName}`); }
}

function parseTokensFile(text: string): StaticTokenEntry[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || !('tokens' in value) || !Array.isArray(value.tokens)) return undefined;
  const entries: StaticTokenEntry[] = [];
  for (const t of value.tokens as unknown[]) {
    if (typeof t !== 'object' || t === null) return undefined;
    const { token, username, uid, groups } = t as Record<string, unknown>;
    if (typeof token !== 'string' || token.length < 16 || typeof username !== 'string' || username === '') return undefined;
    if (!Array.isArray(groups) || !groups.every((g): g is string => typeof g === 'string')) return undefined;
    entries.push({ token, username, groups, ...(typeof uid === 'string' ? { uid } : {}) });
  }
  return entries;
}

/**
 * Loads `<dataDir>/pki/tokens.json` (mode 0600), adding a fresh random token for every identity that
 * lacks one. Existing tokens never change, so kubeconfigs stay valid across restarts; identities no
 * longer asked for (a removed node) are kept. A corrupt file is an error, not silently replaced,
 * because replacing it would lock every component out.
 */
export async function loadOrCreateStaticTokens(dataDir: string, opts: { nodeNames: readonly string[] }):
  Promise<StaticTokens> {
  const path = join(dataDir, 'pki', tokensFileName);
  const text = await readOptional(path);
  const stored = text === undefined ? [] : parseTokensFile(text);
  if (stored === undefined) throw new Error(`${path} is corrupt`);
  const have = new Set(stored.map((e) => e.username));
  const missing = clusterIdentities(opts.nodeNames).filter((id) => !have.has(id.username));
  if (missing.length === 0 && text !== undefined) return new StaticTokens(stored);
  const entries = [...stored, ...missing.map((id) => ({ ...id, token: newStaticToken() }))];
  const tokens = new StaticTokens(entries);
  await writeAtomic(path, `${JSON.stringify({ version: tokensFileVersion, tokens: entries }, null, 2)}\n`, secretFileMode);
  return tokens;
}

export type AuthenticationResult =
  | { readonly ok: true; readonly user: UserInfo; readonly method: 'anonymous' | 'static-token' | 'service-account' }
  | { readonly ok: false; readonly reason: string };

export interface AuthenticatorOptions {
  readonly staticTokens: readonly StaticTokenEntry[];
  readonly serviceAccounts?: ServiceAccountTokenVerifier;
  /** Kubernetes' --anonymous-auth, default true: requests without a bearer token become system:anonymous. */
  readonly allowAnonymous?: boolean;
}

const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/** Kubernetes adds system:authenticated to every authenticated user. */
function withAuthenticatedGroup(user: UserInfo): UserInfo {
  if (user.groups.includes(wellKnown.authenticatedGroup)) return user;
  return { ...user, groups: [...user.groups, wellKnown.authenticatedGroup] };
}

export class Authenticator {
  /** Keyed by SHA-256 of the token, so lookup time says nothing about how much of a guess was right. */
  private readonly staticByHash: ReadonlyMap<string, UserInfo>;

  constructor(private readonly options: AuthenticatorOptions) {
    this.staticByHash = new Map(options.staticTokens.map((e) => [hashToken(e.token), withAuthenticatedGroup({
      username: e.username, groups: e.groups, ...(e.uid === undefined ? {} : { uid: e.uid }),
    })]));
  }

  /**
   * Follows kube-apiserver: no header, a non-Bearer scheme or an empty token is anonymous (when
   * allowed); a Bearer token that no authenticator accepts is a 401, never anonymous.
   */
  authenticate(authorizationHeader: string | undefined, nowSeconds: number): AuthenticationResult {
    const token = bearerTokenOf(authorizationHeader);
    if (token === undefined) {
      return this.options.allowAnonymous === false
        ? { ok: false, reason: 'no bearer token and anonymous access is disabled' }
        : { ok: true, user: anonymousUser, method: 'anonymous' };
    }
    const staticUser = this.staticByHash.get(hashToken(token));
    if (staticUser !== undefined) return { ok: true, user: staticUser, method: 'static-token' };
    if (this.options.serviceAccounts !== undefined && looksLikeJwt(token)) {
      const result = this.options.serviceAccounts.verify(token, nowSeconds);
      return result.ok
        ? { ok: true, user: withAuthenticatedGroup(result.user), method: 'service-account' }
        : { ok: false, reason: `invalid bearer token: ${result.reason}` };
    }
    return { ok: false, reason: 'invalid bearer token' };
  }
}

/** The token of an `Authorization: Bearer <token>` header, or undefined when there is none. */
export function bearerTokenOf(header: string | undefined): string | undefined {
  const auth = (header ?? '').trim();
  if (auth === '') return undefined;
  const parts = auth.split(' ');
  if (parts.length < 2 || parts[0]!.toLowerCase() !== 'bearer') return undefined;
  const token = parts[1]!;
  return token === '' ? undefined : token;
}
