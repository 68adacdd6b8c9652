import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { createDb, ensureDatabase, migrate } from '../../shared/db';
import { createRedis, deleteKeys } from '../../shared/redis';
import { Child, freePort, npmScript, spawnEntry } from './children';

export interface StackOptions {
  /** Run tag: names the database, the queue prefix and the log directory. */
  tag: string;
  logLevel: string;
  holdSeconds: number;
  /** Extra environment for every child (KEY=VALUE pairs from --env). */
  extraEnv: Record<string, string>;
}

/**
 * The environment of one benchmark run: its own database and queue prefix on the local servers
 * (DATABASE_URL / REDIS_URL point elsewhere if set), a fresh JWT secret, production mode.
 */
export function benchEnv(opts: StackOptions): Record<string, string> {
  const server = new URL(process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  server.pathname = `/boxoffice_bench_${opts.tag}`;
  return {
    NODE_ENV: 'production',
    DATABASE_URL: server.toString(),
    REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: `bxb_${opts.tag}`,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    ADMIN_PASSWORD: randomBytes(12).toString('base64url'),
    LOG_LEVEL: opts.logLevel,
    BOXOFFICE_RUN: 'dist',
    HOLD_SECONDS: String(opts.holdSeconds),
    ...opts.extraEnv,
  };
}

/** `npm run build` (tsc), so that dist/ holds exactly the code in the working tree. */
function buildProject() {
  const root = path.join(__dirname, '..', '..');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', path.join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
}

/** Parses repeated `KEY=VALUE` pairs separated by commas (the --env flag). */
export function parseEnvPairs(spec: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const i = pair.indexOf('=');
    if (i < 1) throw new Error(`--env expects KEY=VALUE pairs, got "${pair}"`);
    out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return out;
}

/** Processes, connections and storage of one run; `teardown()` removes all of it. */
export class BenchStack {
  readonly logDir: string;
  /** Where `node --cpu-prof` writes the children's profiles (under logDir), when profiling. */
  readonly profileDir?: string;
  readonly children: Child[] = [];
  private dbHandle?: Knex;
  private torn = false;

  constructor(readonly env: Record<string, string>, profile = false) {
    this.logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxoffice-bench-'));
    if (profile) this.profileDir = path.join(this.logDir, 'profiles');
    for (const [k, v] of Object.entries(env)) process.env[k] = v;
  }

  /**
   * Creates and migrates the run's database (the project's own migrations), after compiling the
   * project: the processes run the compiled build, as the image does (BOXOFFICE_RUN=dist).
   */
  async prepareDatabase(): Promise<Knex> {
    buildProject();
    await ensureDatabase(this.env.DATABASE_URL);
    this.dbHandle = createDb(this.env.DATABASE_URL, 4);
    await migrate(this.dbHandle);
    return this.dbHandle;
  }

  get db(): Knex {
    if (!this.dbHandle) throw new Error('prepareDatabase() first');
    return this.dbHandle;
  }

  /** The Redis server's version (INFO server). */
  async redisVersion(): Promise<string> {
    const redis = createRedis({ blocking: true, name: 'bench-info', url: this.env.REDIS_URL });
    const info = (await redis.info('server').catch(() => '')) as string;
    await redis.quit();
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  }

  private nodeArgs(name: string): string[] {
    return this.profileDir ? ['--cpu-prof', '--cpu-prof-dir', this.profileDir, '--cpu-prof-name', `${name}.cpuprofile`] : [];
  }

  /** `npm run start:gateway` (its Node options and entry point) on a free port. */
  async startGateway(name = 'gateway', env: Record<string, string> = {}): Promise<Child> {
    const port = await freePort();
    return this.startScript('start:gateway', name, { ...env, PORT: String(port) }, port);
  }

  /** `npm run start:worker`, healthy once its metrics listener answers. */
  async startWorker(name: string, env: Record<string, string> = {}): Promise<Child> {
    const port = await freePort();
    return this.startScript('start:worker', name, { ...env, METRICS_PORT: String(port) }, port);
  }

  /** An npm script's entry point with its Node options, healthy once `port` answers /healthz. */
  private async startScript(script: string, name: string, env: Record<string, string>, port: number): Promise<Child> {
    const { nodeArgs, entry } = npmScript(script);
    const child = await spawnEntry({
      name, entry, env: { ...this.env, ...env }, port, healthPath: '/healthz', logDir: this.logDir, nodeArgs: [...nodeArgs, ...this.nodeArgs(name)],
    });
    this.children.push(child);
    return child;
  }

  /** Any other entry point (the ceiling apps). */
  async startEntry(name: string, entry: string, env: Record<string, string> = {}): Promise<Child> {
    const port = await freePort();
    const child = await spawnEntry({ name, entry, env: { ...this.env, ...env, PORT: String(port) }, port, healthPath: '/healthz', logDir: this.logDir, nodeArgs: this.nodeArgs(name) });
    this.children.push(child);
    return child;
  }

  async stop(child: Child): Promise<void> {
    await child.stop();
    const i = this.children.indexOf(child);
    if (i >= 0) this.children.splice(i, 1);
  }

  /** Stops every child, drops the database and deletes the run's Redis keys. Safe to call twice. */
  async teardown(keepLogs: boolean): Promise<void> {
    if (this.torn) return;
    this.torn = true;
    await Promise.all(this.children.map((c) => c.stop(5000)));
    await this.dbHandle?.destroy().catch(() => undefined);
    const admin = new URL(this.env.DATABASE_URL);
    const name = admin.pathname.slice(1);
    admin.pathname = '/postgres';
    const db = createDb(admin.toString(), 1);
    await db.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]).catch((err) => console.error(`could not drop ${name}: ${err.message}`));
    await db.destroy();
    const redis = createRedis({ blocking: true, name: 'bench-cleanup', url: this.env.REDIS_URL });
    await deleteKeys(redis, `${this.env.QUEUE_PREFIX}:*`).catch((err) => console.error(`could not delete keys: ${err.message}`));
    await redis.quit();
    if (!keepLogs) fs.rmSync(this.logDir, { recursive: true, force: true });
  }
}
