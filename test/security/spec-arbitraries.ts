import fc, { Arbitrary } from 'fast-check';
import { loadSpec, OpenApiDoc, resolveRef } from '../../shared/openapi';

type Schema = Record<string, any>;
type Json = unknown;
/** Values to mix in for properties of a given name (known ids, real usernames, tokens). */
export type Hints = Record<string, Arbitrary<Json>>;

const MAX_STRING = 40;
const DAY = 24 * 3600_000;

/** Follows `$ref`s into the spec (any depth). */
function deref(schema: Schema, doc: OpenApiDoc = loadSpec()): Schema {
  let s = schema;
  while (s?.$ref) s = resolveRef(doc, s);
  return s ?? {};
}

/** Numbers at and just past a schema's bounds, and the usual troublemakers. */
export function boundaryNumbers(schema: Schema): number[] {
  const s = deref(schema);
  const edges = [0, -1, 1, 0.5, -0.5, 2 ** 31 - 1, 2 ** 31, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 1e308, -1e308, Number.MIN_VALUE];
  if (typeof s.minimum === 'number') edges.push(s.minimum, s.minimum - 1);
  if (typeof s.maximum === 'number') edges.push(s.maximum, s.maximum + 1);
  return edges;
}

function stringArb(s: Schema): Arbitrary<string> {
  const minLength = s.minLength ?? 0;
  const maxLength = Math.max(minLength, Math.min(s.maxLength ?? MAX_STRING, MAX_STRING));
  if (s.format === 'date-time') {
    return fc.integer({ min: -2 * DAY, max: 60 * DAY }).map((offset) => new Date(Date.now() + offset).toISOString());
  }
  if (s.format === 'email') return fc.emailAddress().filter((e) => e.length <= (s.maxLength ?? 254));
  if (s.pattern) {
    return fc.stringMatching(new RegExp(s.pattern), { maxLength }).filter((v) => v.length >= minLength && v.length <= (s.maxLength ?? Infinity));
  }
  const exact = s.maxLength !== undefined ? [fc.constant('x'.repeat(s.maxLength))] : [];
  return fc.oneof(fc.string({ minLength, maxLength }), fc.string({ minLength, maxLength, unit: 'grapheme' }), ...exact);
}

function objectArb(s: Schema, doc: OpenApiDoc, hints: Hints): Arbitrary<Record<string, Json>> {
  const props: Record<string, Schema> = s.properties ?? {};
  const branches: string[][] = (s.oneOf ?? []).map((b: Schema) => b.required ?? []).filter((r: string[]) => r.length);
  const pick = branches.length ? fc.constantFrom(...branches) : fc.constant([] as string[]);
  return pick.chain((branch) => {
    const excluded = new Set(branches.flat().filter((k) => !branch.includes(k)));
    const keys = Object.keys(props).filter((k) => !excluded.has(k));
    const required = [...(s.required ?? []), ...branch].filter((k) => keys.includes(k));
    const model = Object.fromEntries(keys.map((k) => [k, hints[k] ? fc.oneof({ weight: 3, arbitrary: hints[k] }, arbitraryFor(props[k], doc)) : arbitraryFor(props[k], doc, hints)]));
    return fc.record(model, { requiredKeys: required }).filter((o) => Object.keys(o).length >= (s.minProperties ?? 0));
  });
}

/** Values that satisfy `schema` (the subset of JSON Schema the spec uses). */
export function arbitraryFor(schema: Schema, doc: OpenApiDoc = loadSpec(), hints: Hints = {}): Arbitrary<Json> {
  const s = deref(schema, doc);
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  if (s.oneOf && !s.properties) return fc.oneof(...s.oneOf.map((b: Schema) => arbitraryFor(b, doc, hints)));
  switch (s.type) {
    case 'object':
      return objectArb(s, doc, hints);
    case 'array': {
      const items = arbitraryFor(s.items ?? {}, doc, hints);
      const c = { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 5, 12) };
      return s.uniqueItems ? fc.uniqueArray(items, { ...c, selector: (v) => JSON.stringify(v) }) : fc.array(items, c);
    }
    case 'integer': {
      const min = s.minimum ?? -(2 ** 31);
      const max = s.maximum ?? 2 ** 31;
      return fc.oneof({ weight: 4, arbitrary: fc.integer({ min, max }) }, { weight: 1, arbitrary: fc.constantFrom(min, max) });
    }
    case 'number':
      return fc.double({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6, noNaN: true });
    case 'string':
      return stringArb(s);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Any JSON at all, including deep or odd shapes. */
export const anyJson = (): Arbitrary<Json> => fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom<Json>(null, true, 0, -1, '', [], {}, 1e308, -0, [[[[[[]]]]]], JSON.parse('{"__proto__":{"admin":true}}'), { constructor: { prototype: { x: 1 } } }),
);

/** A wrong value for a field of `schema`: other types, boundary numbers, long or odd strings. */
export function wrongValueFor(schema: Schema): Arbitrary<Json> {
  return fc.oneof(
    fc.constantFrom<Json>(...boundaryNumbers(schema)),
    anyJson(),
    fc.string({ maxLength: 300, unit: 'grapheme' }),
    fc.constantFrom<Json>("' OR 1=1 --", '\u0000', '1e999', 'NaN', '-1', '9'.repeat(40), '<script>', '../../etc/passwd'),
  );
}

export type BodyMutation = { kind: 'json'; value: Json } | { kind: 'raw'; text: string; contentType?: string };

/** A body that starts from a valid one and breaks it: drop or add a field, a wrong value, or something else entirely. */
export function mutatedBody(schema: Schema, doc: OpenApiDoc = loadSpec(), hints: Hints = {}): Arbitrary<BodyMutation> {
  const s = deref(schema, doc);
  const props: Record<string, Schema> = s.properties ?? {};
  const valid = arbitraryFor(s, doc, hints) as Arbitrary<Record<string, Json>>;
  const keys = Object.keys(props);
  const json = (a: Arbitrary<Json>): Arbitrary<BodyMutation> => a.map((value) => ({ kind: 'json', value }));
  const options: Arbitrary<BodyMutation>[] = [
    json(valid.chain((v) => (Object.keys(v).length ? fc.constantFrom(...Object.keys(v)).map((k) => { const { [k]: _drop, ...rest } = v; return rest; }) : fc.constant(v)))),
    json(fc.tuple(valid, fc.string({ minLength: 1, maxLength: 12 }), anyJson()).map(([v, k, x]) => ({ ...v, [k]: x }))),
    json(fc.tuple(valid, anyJson()).map(([v, x]) => ({ ...v, role: 'admin', user_id: 1, id: 1, status: 'booked', extra: x }))),
    json(anyJson()),
    fc.string({ maxLength: 200 }).map((text) => ({ kind: 'raw' as const, text })),
    fc.constantFrom<BodyMutation>(
      { kind: 'raw', text: '{"a":' }, { kind: 'raw', text: '' }, { kind: 'raw', text: '[' .repeat(5000) + ']'.repeat(5000) },
      { kind: 'raw', text: JSON.stringify({ pad: 'x'.repeat(17 * 1024) }) }, { kind: 'raw', text: 'a=1&b=2', contentType: 'application/x-www-form-urlencoded' },
      { kind: 'raw', text: '{}', contentType: 'text/plain' }, { kind: 'raw', text: '<x/>', contentType: 'application/xml' },
    ),
  ];
  if (keys.length) {
    options.push(json(fc.tuple(valid, fc.constantFrom(...keys)).chain(([v, k]) => wrongValueFor(props[k]).map((x) => ({ ...v, [k]: x })))));
  }
  return fc.oneof(...options);
}
