/** The apiserver's public surface: the wire-independent core, its HTTPS adapter, and the HA front door. */
export { ApiServerCore, type ApiServerCoreOptions } from './core.js';
export { ApiHttpsServer, type HttpsServerOptions, defaultApiserverHost, defaultApiserverPort } from './https-server.js';
export { FrontDoor, type FrontDoorOptions, type Backend, defaultFrontDoorHost, defaultFrontDoorPort } from './front-door.js';
export { watchLineOf, encodedLine, type EncodedWatchEvent } from './watch.js';
export { ApiMetrics } from './metrics.js';
export { systemNamespaces } from './bootstrap.js';
export * as apiserverLimits from './limits.js';
export type { PodLogSource, PodLogOptions } from './rest.js';
