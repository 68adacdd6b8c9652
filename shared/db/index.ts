import { readdirSync } from 'node:fs';
import path from 'node:path';
import knexFactory, { Knex } from 'knex';
import { Model } from 'objection';
import { types } from 'pg';
import { config } from '../config';

// COUNT(*) and bigint come back as strings by default; ours fit in a JS number.
types.setTypeParser(20, (v) => Number(v));

const migrationExtension = path.extname(__filename) === '.ts' ? '.ts' : '.js';
const migrationDirectory = path.join(__dirname, 'migrations');

/**
 * Migrations are recorded by name without extension, so a database migrated from the
 * TypeScript sources (npm start) and one migrated from the compiled image agree.
 */
const migrationSource: Knex.MigrationSource<string> = {
  async getMigrations() {
    return readdirSync(migrationDirectory)
      .filter((f) => f.endsWith(migrationExtension) && !f.endsWith('.d.ts'))
      .map((f) => f.slice(0, -migrationExtension.length))
      .sort();
  },
  getMigrationName: (name) => name,
  async getMigration(name) {
    return require(path.join(migrationDirectory, name + migrationExtension));
  },
};

/** knex options for a connection string; the pool size comes from DB_POOL_MAX unless given. */
export function knexConfig(connection = config().DATABASE_URL, poolMax = config().DB_POOL_MAX): Knex.Config {
  return {
    client: 'pg',
    connection,
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 10_000,
    migrations: { migrationSource, tableName: 'knex_migrations' },
  };
}

/** Creates a knex instance and binds objection models to it. */
export function createDb(connection?: string, poolMax?: number): Knex {
  const db = knexFactory(knexConfig(connection, poolMax));
  Model.knex(db);
  return db;
}

/** Creates the database named in the URL if it does not exist yet. */
export async function ensureDatabase(url = config().DATABASE_URL): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const db = knexFactory({ client: 'pg', connection: admin.toString(), pool: { min: 0, max: 1 } });
  try {
    const found = await db.raw('SELECT 1 FROM pg_database WHERE datname = ?', [name]);
    if (found.rows.length === 0) await db.raw('CREATE DATABASE ??', [name]);
  } finally {
    await db.destroy();
  }
}

/** Brings the schema up to date. */
export async function migrate(db: Knex): Promise<string[]> {
  const [, applied] = await db.migrate.latest();
  return applied as string[];
}
