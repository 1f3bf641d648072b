// Loads ts-node's ESM hooks in transpile-only mode (`npm run typecheck` does the type-checking).
import { register } from 'node:module';

register('ts-node/esm', import.meta.url);
