/** The built-in images (DESIGN §9: images are a registry; a new image is one file and one line here). */
import { ImageRegistry } from '../image.js';
import { agnhostImage } from './agnhost.js';
import { alpineImage, busyboxImage } from './busybox.js';
import { nginxImage } from './nginx.js';
import { pauseImage } from './pause.js';
import { pocketkubeStressImage, stressImage } from './stress.js';

/** A fresh registry with every built-in image; more (cluster DNS, a user's own) are added with `register`. */
export function builtInImages(): ImageRegistry {
  return new ImageRegistry()
    .register(pauseImage)
    .register(nginxImage)
    .register(busyboxImage)
    .register(alpineImage)
    .register(agnhostImage)
    .register(stressImage)
    .register(pocketkubeStressImage);
}
