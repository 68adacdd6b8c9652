import Router from '@koa/router';
import Ajv2020, { ErrorObject, ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { Context, Middleware, Next } from 'koa';
import { AppError, badRequest } from '../../../shared/errors';
import { listOperations, OpenApiDoc, Operation } from '../../../shared/openapi';

export type Handler = (ctx: Context) => Promise<void> | void;
export type Handlers = Record<string, Handler>;

export interface RouteGuards {
  /** Verifies the bearer token, then confirms its user; sets ctx.state.user. */
  authenticate: Middleware;
  /** Only the token: signature, expiry, access token (sets ctx.state.token). */
  verifyToken: Middleware;
  /** Only the user: still there, with which role (sets ctx.state.user). */
  identify: Middleware;
  /** Checks the caller has the role named by the operation's `x-role`. */
  requireRole: (role: string) => Middleware;
}

function makeAjv(doc: OpenApiDoc, coerce: boolean): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: false, useDefaults: true, coerceTypes: coerce });
  addFormats(ajv);
  ajv.addSchema({ $id: 'spec', components: doc.components });
  return ajv;
}

/** Local refs point into the spec document registered under `spec`. */
const rebase = (schema: unknown) => JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"spec#/components/'));

export function describeErrors(errors: ErrorObject[] | null | undefined, where: string) {
  return (errors ?? []).map((e) => {
    if (e.keyword === 'required') return { field: `${where}${e.instancePath}/${e.params.missingProperty}`, message: 'is required' };
    if (e.keyword === 'additionalProperties') return { field: `${where}${e.instancePath}/${e.params.additionalProperty}`, message: 'is not allowed' };
    return { field: `${where}${e.instancePath}`, message: e.message ?? 'is invalid' };
  });
}

function paramsSchema(params: any[], location: string) {
  const chosen = params.filter((p) => p.in === location);
  return {
    type: 'object',
    properties: Object.fromEntries(chosen.map((p) => [location === 'header' ? p.name.toLowerCase() : p.name, rebase(p.schema ?? {})])),
    required: chosen.filter((p) => p.required).map((p) => (location === 'header' ? p.name.toLowerCase() : p.name)),
    additionalProperties: location === 'header',
  };
}

/** Validates path, query, header and body of one operation against the spec. */
function validator(op: Operation, coercing: Ajv2020, strict: Ajv2020): Middleware {
  const checks: [string, ValidateFunction, (ctx: Context) => any, (ctx: Context, v: any) => void][] = [
    ['path', coercing.compile(paramsSchema(op.parameters, 'path')), (ctx) => ({ ...ctx.params }), (ctx, v) => { ctx.state.params = v; }],
    ['query', coercing.compile(paramsSchema(op.parameters, 'query')), (ctx) => (ctx.querystring ? { ...ctx.query } : {}), (ctx, v) => { ctx.state.query = v; }],
    ['header', strict.compile(paramsSchema(op.parameters, 'header')), (ctx) => ctx.headers, () => undefined],
  ];
  const bodySchema = op.op.requestBody?.content?.['application/json']?.schema;
  const body = bodySchema ? strict.compile(rebase(bodySchema)) : undefined;
  return (ctx: Context, next: Next) => {
    for (const [where, check, read, store] of checks) {
      const value = read(ctx);
      if (!check(value)) throw badRequest(`Invalid ${where} parameters`, describeErrors(check.errors, where));
      store(ctx, value);
    }
    if (body) {
      if (!ctx.is('application/json')) {
        if (ctx.request.length || ctx.request.type) throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json');
        throw badRequest('A JSON body is required');
      }
      if (!body(ctx.request.body)) throw badRequest('Invalid body', describeErrors(body.errors, 'body'));
    }
    return next();
  };
}

/**
 * Answers a request early, before the user directory is asked, from what the token and the
 * validated request alone tell (a booking on a sold-out show). Calls `next()` to go on.
 */
export type Precheck = (ctx: Context, next: Next) => Promise<void> | void;

/**
 * An operation's steps as one middleware: each step's `next` runs the following one. The router
 * composes a matched route's middleware with koa-compose on every request, which flattens the
 * list and makes a promise and a bound function per step; handed one middleware, it does that once.
 * A step that throws, or returns a rejected promise, fails the request as it would in koa-compose.
 */
export function inOrder(steps: Middleware[]): Middleware {
  return (ctx, next) => {
    const run = (i: number): Promise<void> | void => (i < steps.length ? steps[i](ctx, () => run(i + 1) as Promise<void>) : next());
    return run(0);
  };
}

/** The spec's routes as one middleware; `routers` are the routers it dispatches to. */
export type SpecRoutes = Middleware & { routers: Router[] };

/** A path's first segment, compared as the routers compare paths (case-insensitively). */
function firstSegment(path: string): string {
  const end = path.indexOf('/', 1);
  return (end < 0 ? path.slice(1) : path.slice(1, end)).toLowerCase();
}

/**
 * Builds the routes from the spec: every operation gets auth (if `security`), role, validation
 * and its handler. An operation with a precheck verifies the token and validates the request
 * first, then runs the precheck, and only then asks the user directory.
 *
 * Operations are grouped by their path's first segment (/shows, /bookings, /jobs, ...), one
 * router each, with its own 405/501 answers. A router tests every one of its routes against each
 * request it gets; grouped, a booking is tested against the few /shows routes, not all of them.
 */
export function buildRoutes(doc: OpenApiDoc, handlers: Handlers, guards: RouteGuards, prechecks: Record<string, Precheck> = {}): SpecRoutes {
  const coercing = makeAjv(doc, true);
  const strict = makeAjv(doc, false);
  const routers = new Map<string, Router>();
  const ops = listOperations(doc);
  const missing = ops.filter((o) => !handlers[o.operationId]).map((o) => o.operationId);
  const unused = [...Object.keys(handlers), ...Object.keys(prechecks)].filter((id) => !ops.some((o) => o.operationId === id));
  if (missing.length || unused.length) {
    throw new Error(`Spec and handlers disagree. No handler: [${missing.join(', ')}]; not in spec: [${unused.join(', ')}]`);
  }
  for (const op of ops) {
    const chain: Middleware[] = [];
    // Plain functions that end in `return next()` keep no frame suspended while the request runs.
    chain.push((ctx, next) => {
      ctx.state.operationId = op.operationId;
      ctx.state.route = op.path;
      return next();
    });
    const secured = Boolean(op.op.security?.length);
    const precheck = prechecks[op.operationId];
    if (precheck) {
      if (!secured || op.op['x-role']) throw new Error(`Precheck of ${op.operationId}: only for operations open to every signed-in user`);
      chain.push(guards.verifyToken, validator(op, coercing, strict), precheck, guards.identify);
    } else {
      if (secured) chain.push(guards.authenticate);
      if (op.op['x-role']) chain.push(guards.requireRole(op.op['x-role']));
      chain.push(validator(op, coercing, strict));
    }
    const handler = handlers[op.operationId];
    chain.push((ctx) => handler(ctx));
    const segment = firstSegment(op.koaPath);
    const router = routers.get(segment) ?? new Router();
    routers.set(segment, router);
    router[op.method](op.operationId, op.koaPath, inOrder(chain));
  }
  const bySegment = new Map([...routers].map(([segment, router]): [string, Middleware] => {
    const routes = router.routes() as Middleware;
    const allowed = router.allowedMethods({ throw: true }) as Middleware;
    return [segment, (ctx, next) => routes(ctx, () => allowed(ctx, next))];
  }));
  const dispatch: Middleware = (ctx, next) => {
    const routes = bySegment.get(firstSegment(ctx.path));
    return routes ? routes(ctx, next) : next();
  };
  return Object.assign(dispatch, { routers: [...routers.values()] });
}
