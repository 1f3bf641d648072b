/**
 * `busybox` and `alpine`: a small shell and its applets (./shell.ts). The default CMD is `sh`,
 * which, with no terminal and no stdin, exits 0 at once (as a real busybox pod without a command
 * does: it completes, and under restartPolicy Always goes into CrashLoopBackOff).
 */
import type { Image } from '../image.js';
import { runShellProcess } from './shell.js';

export const busyboxImage: Image = {
  repository: 'busybox',
  entrypoint: [],
  cmd: ['sh'],
  run: runShellProcess,
  exec: runShellProcess,
};

export const alpineImage: Image = {
  repository: 'alpine',
  entrypoint: [],
  cmd: ['/bin/sh'],
  run: runShellProcess,
  exec: runShellProcess,
};
