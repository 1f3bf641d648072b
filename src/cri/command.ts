/**
 * How a container's argv comes about, as Kubernetes defines it
 * (https://kubernetes.io/docs/tasks/inject-data-application/define-command-argument-container/#notes):
 * `command` replaces the image's ENTRYPOINT, `args` replaces its CMD, and a `command` without
 * `args` drops the image's CMD. `$(VAR)` expansion is the kubelet's (src/kubelet/env.ts), done
 * before the CRI request, as upstream's kubelet does.
 */

export function resolveArgv(image: { readonly entrypoint: readonly string[]; readonly cmd: readonly string[] }, command: readonly string[] | undefined, args: readonly string[] | undefined): string[] {
  const hasCommand = command !== undefined && command.length > 0;
  const hasArgs = args !== undefined && args.length > 0;
  if (hasCommand) return [...command, ...(hasArgs ? args : [])];
  return [...image.entrypoint, ...(hasArgs ? args : image.cmd)];
}

/** The container's environment: the runtime's defaults, then the kubelet's envs (later wins), as docker/containerd do. */
export function containerEnv(defaults: Readonly<Record<string, string>>, envs: readonly { readonly key: string; readonly value: string }[] | undefined): Record<string, string> {
  const env: Record<string, string> = { ...defaults };
  for (const { key, value } of envs ?? []) env[key] = value;
  return env;
}
