import type { Context, Middleware, Next } from 'koa';
import { AppError } from '../../../shared/errors';

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 * 1024 };
/** The methods whose bodies the gateway reads (as the body parser); other bodies are never read. */
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/** BODY_LIMIT (`16kb`, `1mb`, `512b`) in bytes. */
export function limitBytes(limit: string): number {
  const m = /^(\d+)(b|kb|mb)$/.exec(limit);
  if (!m) throw new Error(`Not a size: ${limit}`);
  return Number(m[1]) * UNITS[m[2]];
}

/**
 * 413 at once when the declared Content-Length is over the limit, before any of the body is
 * read (the body parser would read up to the limit first, and a huge declared length overflows
 * its 32-bit arithmetic and leaves it waiting for a body that never comes).
 */
export function declaredBodyLimit(limit: string): Middleware {
  const max = limitBytes(limit);
  return (ctx: Context, next: Next) => {
    const declared = ctx.get('Content-Length');
    if (declared && WITH_BODY.has(ctx.method) && Number(declared) > max) throw new AppError(413, 'PAYLOAD_TOO_LARGE', `The body is larger than ${limit}`);
    return next();
  };
}
