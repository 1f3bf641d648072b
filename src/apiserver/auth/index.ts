/** The apiserver's security pieces: PKI, authentication, authorization, default policy. */
export * from './user.js';
export * from './pki.js';
export * from './service-account-tokens.js';
export {
  Authenticator,    loadOrCreateStaticTokens, 
    
  type AuthenticationResult,  type StaticTokenEntry,
} from './tokens.js';
export * from './rbac-types.js';
export * from './rbac.js';
export * from './bootstrap-policy.js';
export * from './node-graph.js';
export * from './node-authorizer.js';
export * from './status.js';
export * from './kubeconfig.js';
export * from './request-info.js';
