import type { TokenCaller } from './auth.guards';

/** At most this many verified tokens are remembered; past it the memory starts over. */
export const MAX_VERIFIED_TOKENS = 50_000;

/**
 * Bearer tokens koa-jwt has already verified, by the exact Authorization header that carried
 * them, until the token's own `exp`. A launch client sends the same token many times (its booking,
 * then a poll every second or so); each repeat then costs a map lookup instead of another trip
 * through koa-jwt and an HMAC. Nothing is remembered that was not verified, a different header
 * string is a different entry (a changed byte is verified afresh, and refused), and an entry is
 * never used at or after its `exp` (the same rule as jsonwebtoken's), so an expired token still
 * gets its 401 from koa-jwt. Whether the user still exists is asked separately, every time.
 */
export class VerifiedTokens {
  private readonly byHeader = new Map<string, { caller: TokenCaller; expiresAtMs: number }>();

  constructor(private readonly max = MAX_VERIFIED_TOKENS) {}

  /** The caller of an Authorization header verified before, if its token has not expired. */
  get(header: string, now = Date.now()): TokenCaller | undefined {
    const hit = this.byHeader.get(header);
    if (!hit) return undefined;
    if (now < hit.expiresAtMs) return hit.caller;
    this.byHeader.delete(header);
    return undefined;
  }

  /** Remembers a header koa-jwt accepted; `exp` in seconds, as in the token. */
  remember(header: string, caller: TokenCaller, exp: unknown): void {
    if (typeof exp !== 'number' || !Number.isFinite(exp)) return;
    if (this.byHeader.size >= this.max) this.byHeader.clear();
    this.byHeader.set(header, { caller, expiresAtMs: exp * 1000 });
  }

  get size(): number {
    return this.byHeader.size;
  }
}
