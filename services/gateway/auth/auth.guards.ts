import type { Context, Middleware, Next } from 'koa';
import koaJwt from 'koa-jwt';
import { AppError, forbidden } from '../../../shared/errors';
import type { Role } from '../../../shared/db/models';
import type { Caller, GatewayDeps } from '../deps';
import type { TokenClaims } from './tokens';
import { VerifiedTokens } from './verified-tokens';

/** A 401 with the RFC 6750 challenge, so clients can tell a missing token from a bad one. */
function invalidToken(message: string, tokenSent: boolean): AppError {
  const challenge = tokenSent ? 'Bearer realm="boxoffice", error="invalid_token"' : 'Bearer realm="boxoffice"';
  return new AppError(401, 'UNAUTHORIZED', message, undefined, { 'WWW-Authenticate': challenge });
}

/** Why koa-jwt refused the token, in words that reveal nothing about the key. */
function describeRejection(err: { originalError?: { name?: string } }, tokenSent: boolean): string {
  if (!tokenSent) return 'A bearer token is required';
  return err.originalError?.name === 'TokenExpiredError' ? 'The token has expired' : 'The token is invalid';
}

/** The caller as the verified token names it, before the user directory or the change feed has confirmed it. */
export interface TokenCaller {
  id: number;
  username: string;
  /** The role the token was issued with (only a customer's is ever taken at its word). */
  role?: Role;
}

/**
 * koa-jwt with the algorithm pinned and iss/aud checked, access tokens only (`verifyToken`,
 * sets ctx.state.token), then the user still exists, with which role (`identify`, sets
 * ctx.state.user): a customer's token for a user Postgres has reported no deletion or role
 * change of (UserChanges) is taken at its word; anyone else is asked of the user directory.
 * `authenticate` is both. A header koa-jwt has accepted is remembered until its token expires
 * (VerifiedTokens), so repeats skip the verification.
 */
export function authGuards(deps: Pick<GatewayDeps, 'tokens' | 'users' | 'userChanges'>, verifiedTokens = new VerifiedTokens()) {
  const jwt = koaJwt({ secret: deps.tokens.key as never, ...deps.tokens.verifyOptions, key: 'claims' });

  const verifyToken: Middleware = (ctx: Context, next: Next) => {
    const header = ctx.get('Authorization');
    const known = verifiedTokens.get(header);
    if (known) {
      ctx.state.token = known;
      return next();
    }
    const tokenSent = /^Bearer\s+\S/i.test(header);
    let verified = false;
    const verifiedThen = () => {
      verified = true;
      const claims = ctx.state.claims as TokenClaims & { exp?: number };
      const id = Number(claims?.sub);
      if (claims?.typ !== 'access' || !Number.isSafeInteger(id)) throw invalidToken('An access token is required', true);
      const caller: TokenCaller = { id, username: claims.username, role: claims.role };
      verifiedTokens.remember(header, caller, claims.exp);
      ctx.state.token = caller;
      return next();
    };
    return jwt(ctx, verifiedThen as Next).catch((err: unknown) => {
      if (verified || (err as { status?: number }).status !== 401) throw err;
      throw invalidToken(describeRejection(err as { originalError?: { name?: string } }, tokenSent), tokenSent);
    });
  };

  const admit = (ctx: Context, next: Next, token: TokenCaller, role: Role | null) => {
    if (!role) throw invalidToken('The user no longer exists', true);
    ctx.state.user = { id: token.id, role, username: token.username } satisfies Caller;
    return next();
  };

  // A customer Postgres has reported no deletion or role change of is still a customer: answered
  // without a promise or a look-up. Admin rights are always confirmed by the directory, whatever a
  // token claims.
  const identify: Middleware = (ctx: Context, next: Next) => {
    const token = ctx.state.token as TokenCaller;
    if (token.role === 'customer' && deps.userChanges.unchanged(token.id)) return admit(ctx, next, token, 'customer');
    return deps.users.role(token.id).then((role) => admit(ctx, next, token, role));
  };

  const authenticate: Middleware = (ctx, next) => verifyToken(ctx, () => identify(ctx, next));

  const requireRole = (role: string): Middleware => async (ctx, next) => {
    if ((ctx.state.user as Caller).role !== role) throw forbidden(`Only ${role}s may do this`);
    await next();
  };

  return { authenticate, verifyToken, identify, requireRole };
}
