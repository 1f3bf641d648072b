import { manifestPath } from '../fixtures/paths.js';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { JsonObject } from '../../src/api/types.js';

function load(file: string): JsonObject {
  return parse(readFileSync(manifestPath(file), 'utf8')) as JsonObject;
}

export function nginxDeployment(): JsonObject {
  return load('nginx-deployment.yaml');
}

export function nginxService(): JsonObject {
  return load('nginx-service.yaml');
}

export const t0 = 1_700_000_000_000;
