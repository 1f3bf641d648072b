/**
 * How a container's argv comes about, as Kubernetes defines it
 * (https://kubernetes.io/docs/tasks/inject-data-application/define-command-argument-container/#notes):
 * `command` replaces the image's ENTRYPOINT, `args` replaces its CMD, and a `command` without
 * `args` drops the image's CMD. `$(VAR)` in command and args expands to the container's env var;
 * `$$(VAR)` escapes to a literal `$(VAR)`; a reference to an unknown variable stays as written
 * (k8s.io/kubernetes third_party/forked/golang/expansion).
 */

export function resolveArgv(image: { readonly entrypoint: readonly string[]; readonly cmd: readonly string[] }, command: readonly string[] | undefined, args: readonly string[] | undefined): string[] {
  const hasCommand = command !== undefined && command.length > 0;
  const hasArgs = args !== undefined && args.length > 0;
  if (hasCommand) return [...command, ...(hasArgs ? args : [])];
  return [...image.entrypoint, ...(hasArgs ? args : image.cmd)];
}

/** Kubernetes' `$(VAR)` expansion of one string against `env`. */
export function expandKubernetesVars(input: string, env: Readonly<Record<string, string>>): string {
  let out = '';
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      i++;
      continue;
    }
    const next = input[i + 1]!;
    if (next === '$') {
      // `$$` is an escaped `$`.
      out += '$';
      i += 2;
      continue;
    }
    if (next !== '(') {
      out += c;
      i++;
      continue;
    }
    const close = input.indexOf(')', i + 2);
    if (close < 0) {
      out += input.slice(i);
      break;
    }
    const name = input.slice(i + 2, close);
    const value = Object.prototype.hasOwnProperty.call(env, name) ? env[name] : undefined;
    out += value ?? input.slice(i, close + 1);
    i = close + 1;
  }
  return out;
}

/** The container's environment: the runtime's defaults, then the kubelet's envs (later wins), as docker/containerd do. */
export function containerEnv(defaults: Readonly<Record<string, string>>, envs: readonly { readonly key: string; readonly value: string }[] | undefined): Record<string, string> {
  const env: Record<string, string> = { ...defaults };
  for (const { key, value } of envs ?? []) env[key] = value;
  return env;
}
