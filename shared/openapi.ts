import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

export type OpenApiDoc = {
  paths: Record<string, Record<string, any>>;
  components: Record<string, Record<string, any>>;
  [k: string]: unknown;
};

/** openapi/ sits at the project root: one level up from shared/ in the source, two from dist/shared/ in a build. */
export const SPEC_PATH = [path.join(__dirname, '..', 'openapi', 'openapi.yaml'), path.join(__dirname, '..', '..', 'openapi', 'openapi.yaml')]
  .find((p) => existsSync(p)) ?? path.join(__dirname, '..', 'openapi', 'openapi.yaml');

let cached: OpenApiDoc | undefined;

/** The contract, loaded once from openapi/openapi.yaml. */
export function loadSpec(): OpenApiDoc {
  cached ??= parse(readFileSync(SPEC_PATH, 'utf8')) as OpenApiDoc;
  return cached;
}

export const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** Resolves a local `#/components/...` reference (one level, as used for parameters and responses). */
export function resolveRef<T = any>(doc: OpenApiDoc, node: any): T {
  if (!node?.$ref) return node;
  return String(node.$ref).replace(/^#\//, '').split('/').reduce((o: any, k: string) => o?.[k], doc) as T;
}

export interface Operation {
  method: (typeof HTTP_METHODS)[number];
  path: string;
  koaPath: string;
  operationId: string;
  op: any;
  parameters: any[];
}

/**
 * Every routed operation in the spec, with path-level and operation-level parameters merged.
 * Operations marked `x-mounted: true` are documentation for an app mounted at that path
 * (Bull Board at /admin/queues), not routes of the spec router, and are left out.
 */
export function listOperations(doc: OpenApiDoc = loadSpec()): Operation[] {
  const ops: Operation[] = [];
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!op || op['x-mounted']) continue;
      const parameters = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((x) => resolveRef(doc, x));
      ops.push({ method, path: p, koaPath: p.replace(/\{(\w+)\}/g, ':$1'), operationId: op.operationId, op, parameters });
    }
  }
  return ops;
}
