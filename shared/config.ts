import Ajv from 'ajv';

/** Every environment variable Boxoffice reads, with its type, default and meaning. */
const schema = {
  type: 'object',
  properties: {
    NODE_ENV: { type: 'string', enum: ['development', 'production', 'test'], default: 'development', description: 'production forbids insecure defaults' },
    PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 3000, description: 'gateway HTTP port' },
    METRICS_PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 9464, description: 'worker metrics HTTP port (0 picks a free port)' },
    DATABASE_URL: { type: 'string', minLength: 1, pattern: '^postgres(ql)?://', default: 'postgres://postgres@127.0.0.1:5432/boxoffice', description: 'Postgres connection string' },
    DB_POOL_MAX: { type: 'integer', minimum: 1, maximum: 200, default: 10, description: 'Postgres pool size per process' },
    REDIS_URL: { type: 'string', minLength: 1, pattern: '^(redis|rediss|redis-cluster)://', default: 'redis://127.0.0.1:6379', description: 'Redis URL, or redis-cluster://host:port,host:port for a cluster' },
    REDIS_CLUSTER_NODES: { type: 'string', default: '', description: 'comma-separated host:port list; when set, Redis Cluster is used' },
    QUEUE_PREFIX: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$', default: 'boxoffice', description: 'Redis key prefix for queues and state' },
    JWT_SECRET: { type: 'string', minLength: 32, description: 'HMAC secret for tokens (required in production)' },
    JWT_ISSUER: { type: 'string', minLength: 1, default: 'boxoffice', description: 'iss claim' },
    JWT_AUDIENCE: { type: 'string', minLength: 1, default: 'boxoffice-api', description: 'aud claim' },
    ACCESS_TOKEN_TTL: { type: 'integer', minimum: 10, maximum: 86400, default: 900, description: 'access token lifetime, seconds' },
    REFRESH_TOKEN_TTL: { type: 'integer', minimum: 60, maximum: 2592000, default: 604800, description: 'refresh token lifetime, seconds' },
    ADMIN_USERNAME: { type: 'string', minLength: 3, default: 'admin', description: 'admin created by npm run seed' },
    ADMIN_PASSWORD: { type: 'string', minLength: 8, description: 'admin password for npm run seed (default admin12345 outside production)' },
    LOG_LEVEL: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', description: 'pino log level' },
    BOOK_WAIT_SECONDS: { type: 'number', minimum: 0, maximum: 60, default: 5, description: 'default time a booking call waits for its outcome before answering 202' },
    HOLD_SECONDS: { type: 'integer', minimum: 1, maximum: 86400, default: 600, description: 'how long a hold lasts' },
    PREQUEUE_SECONDS: { type: 'integer', minimum: 0, maximum: 86400, default: 900, description: 'waiting-room window before sales_open_at' },
    MAX_QUEUE_DEPTH: { type: 'integer', minimum: 1, default: 200000, description: 'per-show queue depth past which booking answers 429' },
    WORKER_IDLE_SECONDS: { type: 'number', minimum: 0.1, maximum: 3600, default: 10, description: 'a worker detaches from a show idle this long' },
    WORKER_POLL_MS: { type: 'integer', minimum: 50, maximum: 10000, default: 250, description: 'how often a worker looks for shows with work' },
    JOB_LOCK_SECONDS: { type: 'number', minimum: 1, maximum: 600, default: 15, description: 'job lock; a worker that dies mid-job holds up its show until the lock has expired and the BullMQ stalled-job check has run (10 s after the kill with a 3 s lock in a test run)' },
    JOB_ATTEMPTS: { type: 'integer', minimum: 1, maximum: 100, default: 10, description: 'tries for a job that hits transient failures' },
    ALLOCATION_BATCH: { type: 'integer', minimum: 1, maximum: 1000, default: 64, description: 'jobs of one show a worker decides in one transaction: bookings, or hold expiries (the one it runs and those of the same kind queued behind it; 1: one at a time)' },
    BODY_LIMIT: { type: 'string', pattern: '^[0-9]+(b|kb|mb)$', default: '16kb', description: 'largest accepted JSON body' },
    CORS_ORIGINS: { type: 'string', pattern: '^\\s*((\\*|https?://[^\\s,/]+)\\s*(,\\s*|$))*$', default: '', description: 'comma-separated allowed CORS origins, e.g. https://app.example.com (empty: none; * any origin)' },
    TRUST_PROXY_HOPS: { type: 'integer', minimum: 0, maximum: 10, default: 0, description: 'reverse proxies in front of the gateway whose X-Forwarded-For entries are trusted (0: use the socket address)' },
    LOGIN_MAX_FAILURES_PER_USER: { type: 'integer', minimum: 1, default: 5, description: 'failed logins per username within LOGIN_FAILURE_WINDOW_SECONDS before login answers 429' },
    LOGIN_MAX_FAILURES_PER_IP: { type: 'integer', minimum: 1, default: 50, description: 'failed logins per client IP (IPv6: per /64) within LOGIN_FAILURE_WINDOW_SECONDS before login answers 429' },
    LOGIN_FAILURE_WINDOW_SECONDS: { type: 'integer', minimum: 1, maximum: 86400, default: 900, description: 'window over which failed logins are counted; a blocked client retries after it ends' },
    BOOK_RATE_LIMIT: { type: 'integer', minimum: 0, default: 30, description: 'booking, cancel and confirm requests per user per BOOK_RATE_WINDOW_SECONDS, per gateway process (0: no limit)' },
    BOOK_RATE_WINDOW_SECONDS: { type: 'integer', minimum: 1, maximum: 3600, default: 10, description: 'window of BOOK_RATE_LIMIT' },
  },
  required: ['JWT_SECRET', 'ADMIN_PASSWORD'],
} as const;

export interface Config {
  NODE_ENV: 'development' | 'production' | 'test';
  PORT: number;
  METRICS_PORT: number;
  DATABASE_URL: string;
  DB_POOL_MAX: number;
  REDIS_URL: string;
  REDIS_CLUSTER_NODES: string;
  QUEUE_PREFIX: string;
  JWT_SECRET: string;
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
  ACCESS_TOKEN_TTL: number;
  REFRESH_TOKEN_TTL: number;
  ADMIN_USERNAME: string;
  ADMIN_PASSWORD: string;
  LOG_LEVEL: string;
  BOOK_WAIT_SECONDS: number;
  HOLD_SECONDS: number;
  PREQUEUE_SECONDS: number;
  MAX_QUEUE_DEPTH: number;
  WORKER_IDLE_SECONDS: number;
  WORKER_POLL_MS: number;
  JOB_LOCK_SECONDS: number;
  JOB_ATTEMPTS: number;
  ALLOCATION_BATCH: number;
  BODY_LIMIT: string;
  CORS_ORIGINS: string;
  TRUST_PROXY_HOPS: number;
  LOGIN_MAX_FAILURES_PER_USER: number;
  LOGIN_MAX_FAILURES_PER_IP: number;
  LOGIN_FAILURE_WINDOW_SECONDS: number;
  BOOK_RATE_LIMIT: number;
  BOOK_RATE_WINDOW_SECONDS: number;
}

/** The names of all variables the config reads (used to check docker-compose and the README). */
export const CONFIG_VARIABLES = Object.keys(schema.properties);

/** Development-only fallbacks for secrets; production must set them. */
const DEV_SECRETS = {
  JWT_SECRET: 'dev-only-insecure-secret-change-me-0123456789',
  ADMIN_PASSWORD: 'admin12345',
};

export class ConfigError extends Error {}

/** Reads and validates the environment once. Throws one ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const key of CONFIG_VARIABLES) {
    if (env[key] !== undefined && env[key] !== '') raw[key] = env[key];
  }
  const production = (raw.NODE_ENV ?? 'development') === 'production';
  if (!production) {
    for (const [key, value] of Object.entries(DEV_SECRETS)) raw[key] ??= value;
  }
  const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: true, strict: false });
  const validate = ajv.compile(schema);
  if (!validate(raw)) {
    const problems = (validate.errors ?? []).map((e) => {
      const name = e.instancePath.replace(/^\//, '') || String(e.params.missingProperty ?? '');
      const why = e.keyword === 'required' ? 'is required in production' : e.message;
      return `${name} ${why}`;
    });
    throw new ConfigError(`Invalid configuration: ${[...new Set(problems)].join('; ')}`);
  }
  return raw as unknown as Config;
}

let cached: Config | undefined;

/** The process-wide config, validated on first use. */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}
