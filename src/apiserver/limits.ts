/** Every bound the apiserver enforces, in one place (units last in names). */

/** kube-apiserver's default request body limit. */
export const maxRequestBodyBytes = 3 * 1024 * 1024;
/** kube-apiserver's --request-timeout default. */
export const requestTimeoutMs = 60_000;
/** A watch without timeoutSeconds ends after this (kube-apiserver: --min-request-timeout 1800 s). */
export const defaultWatchTimeoutSeconds = 1800;
export const maxWatchTimeoutSeconds = 3600;
/** Concurrent watches of one user on one apiserver (the benchmark opens 1,000 as admin). */
export const maxWatchesPerUser = 2_000;
export const maxWatchesTotal = 10_000;
/** Recent events each resource's watch cache keeps to serve `resourceVersion=N` without etcd. */
export const watchCacheCapacityEvents = 1_000;
/** How often a watch that asked for bookmarks gets one when idle. */
export const defaultBookmarkIntervalMs = 10_000;
/** Bytes a watch stream may have queued on its socket before the server drops it (the client re-watches). */
export const maxWatchBufferedBytes = 16 * 1024 * 1024;
/** Optimistic-concurrency retries for server-side read-modify-write (patch, bootstrap, binding). */
export const maxUpdateRetries = 5;
/** Items a single list may return before paging is required of the client. */
export const maxListItems = 100_000;
export const maxListLimit = 10_000;
/** Per-request KvClient deadline. */
export const kvTimeoutMs = 10_000;
/** Names generated from generateName before giving up on AlreadyExists. */
export const maxGenerateNameAttempts = 8;
/** Header block size limit for the HTTPS server. */
export const maxHeaderBytes = 64 * 1024;
/** Idle keep-alive sockets are closed after this. */
export const keepAliveTimeoutMs = 65_000;
/** Connections per front-door backend attempt before the front door tries the next backend. */
export const frontDoorConnectTimeoutMs = 2_000;
export const frontDoorHealthIntervalMs = 200;
export const frontDoorHealthTimeoutMs = 1_000;
/** Consecutive failed health checks that mark a backend unhealthy. */
export const frontDoorUnhealthyAfterFailures = 2;
export const maxFrontDoorConnections = 10_000;
