/** `registry.k8s.io/pause`: the sandbox's placeholder process; it sleeps until stopped and exits 0. */
import type { Image } from '../image.js';
import { untilStopped } from './http-server.js';

export const pauseImage: Image = {
  repository: 'registry.k8s.io/pause',
  entrypoint: ['/pause'],
  cmd: [],
  run: async (process) => {
    await untilStopped(process.signal);
    return 0;
  },
};
