import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { JsonObject } from '../../src/api/types.js';

const manifests = '/work/shared/manifests';

function load(file: string): JsonObject {
  return parse(readFileSync(`${manifests}/${file}`, 'utf8')) as JsonObject;
}

export function nginxDeployment(): JsonObject {
  return load('nginx-deployment.yaml');
}

export function nginxService(): JsonObject {
  return load('nginx-service.yaml');
}

export const t0 = 1_700_000_000_000;
