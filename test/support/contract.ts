import Ajv2020, { ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { expect } from 'chai';
import { HTTP_METHODS, listOperations, loadSpec, resolveRef } from '../../shared/openapi';

export interface SpecOperation {
  method: string;
  path: string;
  operationId: string;
  op: any;
  /** `x-mounted: true`: served by an app mounted at the path, not by the spec router. */
  mounted: boolean;
}

/** Every operation the document describes, the mounted ones included (listOperations() leaves those out). */
export function allSpecOperations(): SpecOperation[] {
  return Object.entries(loadSpec().paths).flatMap(([path, item]) => HTTP_METHODS.filter((m) => item[m]).map((m) => ({
    method: m.toUpperCase(), path, operationId: item[m].operationId, op: item[m], mounted: item[m]['x-mounted'] === true,
  })));
}

let ajv: Ajv2020 | undefined;
const compiled = new Map<string, ValidateFunction | null>();

/**
 * Adds `unevaluatedProperties: false` to every object schema that lists its properties, so a
 * response carrying a field the spec does not declare fails too (schemas that already say
 * `additionalProperties` are left as they are).
 */
function closeObjects(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closeObjects);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = k === 'example' || k === 'examples' ? v : closeObjects(v);
  if (out.properties && out.additionalProperties === undefined && out.unevaluatedProperties === undefined) out.unevaluatedProperties = false;
  return out;
}

const rebase = (schema: unknown) => JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"spec#/components/'));

function specAjv(): Ajv2020 {
  if (!ajv) {
    ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats(ajv);
    ajv.addSchema({ $id: 'spec', components: closeObjects(loadSpec().components) });
  }
  return ajv;
}

/** The JSON schema of an operation's response (null when the response has no JSON body). */
function responseValidator(operationId: string, status: number): ValidateFunction | null {
  const key = `${operationId} ${status}`;
  if (!compiled.has(key)) {
    const doc = loadSpec();
    const op = listOperations(doc).find((o) => o.operationId === operationId);
    if (!op) throw new Error(`No operation ${operationId} in the spec`);
    const response = resolveRef(doc, op.op.responses?.[String(status)]);
    if (!response) throw new Error(`${operationId} does not document status ${status}`);
    const schema = response.content?.['application/json']?.schema;
    compiled.set(key, schema ? specAjv().compile(closeObjects(rebase(schema)) as object) : null);
  }
  return compiled.get(key)!;
}

/**
 * Asserts that `body` is what the spec promises for `operationId` answering `status`: the status
 * is documented, and a JSON body matches its schema with no undeclared fields. A response without
 * a JSON schema (204, text) must have no JSON body to check.
 */
export function expectMatchesSpec(operationId: string, status: number, body: unknown): void {
  const validate = responseValidator(operationId, status);
  if (!validate) {
    expect(body === undefined || typeof body === 'string', `${operationId} ${status} has no JSON body in the spec`).to.equal(true);
    return;
  }
  const ok = validate(body);
  expect(ok, `${operationId} ${status} does not match the spec: ${specAjv().errorsText(validate.errors)}\n${JSON.stringify(body)}`).to.equal(true);
}
