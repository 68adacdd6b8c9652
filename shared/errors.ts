/** An error whose status, code and message are meant for the client. */
export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details?: unknown;
  readonly expose = true;
  readonly headers?: Record<string, string>;

  constructor(status: number, code: string, message: string, details?: unknown, headers?: Record<string, string>) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.headers = headers;
  }
}

export const badRequest = (message: string, details?: unknown) => new AppError(400, 'VALIDATION_FAILED', message, details);
export const unauthorized = (message = 'Authentication required') => new AppError(401, 'UNAUTHORIZED', message);
export const forbidden = (message = 'Not allowed') => new AppError(403, 'FORBIDDEN', message);
export const notFound = (what: string) => new AppError(404, 'NOT_FOUND', `${what} not found`);
export const conflict = (code: string, message: string, details?: unknown) => new AppError(409, code, message, details);

/** The one place that turns Postgres SQLSTATEs into client errors. Returns undefined when not a known case. */
export function fromDbError(err: unknown): AppError | undefined {
  // objection wraps driver errors (UniqueViolationError etc.); the SQLSTATE is on the native error.
  const wrapped = err as { nativeError?: unknown } | undefined;
  const e = (wrapped?.nativeError ?? err) as { code?: string; constraint?: string; detail?: string };
  switch (e?.code) {
    case '23505': {
      const field = /\((\w+)\)=/.exec(e.detail ?? '')?.[1];
      return new AppError(409, 'CONFLICT', field ? `${field} already exists` : 'Already exists', field ? { field } : undefined);
    }
    case '23503':
      return new AppError(409, 'IN_USE', 'Still referenced by other records');
    case '22003':
    case '22P02':
      return badRequest('Value out of range');
    case '22021':
    case '22P05':
      return badRequest('Text must not contain NUL (\\u0000) characters');
    default:
      return undefined;
  }
}

/** Postgres/network failures worth retrying (lost connection, deadlock, serialization, shutdown). */
export function isTransientDbError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  const code = e?.code ?? '';
  if (['40001', '40P01', '57P01', '57P02', '57P03', '53300', '08000', '08003', '08006', '08001', '08004'].includes(code)) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(code)) return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect|Knex: Timeout acquiring/i.test(e?.message ?? '');
}
