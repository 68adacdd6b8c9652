import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.increments('id');
    t.string('username', 150).notNullable().unique();
    t.string('email', 254).notNullable().unique();
    t.string('password_hash', 255).notNullable();
    t.string('role', 16).notNullable().defaultTo('customer');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('customer', 'admin'))`);

  await knex.schema.createTable('movies', (t) => {
    t.increments('id');
    t.string('title', 200).notNullable();
    t.integer('duration_minutes').notNullable();
    t.text('description').notNullable().defaultTo('');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE movies ADD CONSTRAINT movies_duration_check CHECK (duration_minutes > 0)`);

  await knex.schema.createTable('shows', (t) => {
    t.increments('id');
    t.integer('movie_id').notNullable().references('movies.id').onDelete('RESTRICT');
    t.string('screen_name', 100).notNullable();
    t.timestamp('date_time', { useTz: true }).notNullable();
    t.integer('total_seats').notNullable();
    t.specificType('row_lengths', 'integer[]').notNullable();
    t.integer('max_seats_per_user').notNullable().defaultTo(10);
    t.timestamp('sales_open_at', { useTz: true }).nullable();
    t.bigInteger('shuffle_seed').notNullable().defaultTo(knex.raw('(floor(random() * 9007199254740991))::bigint'));
    t.integer('active_seats').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['movie_id', 'date_time']);
  });
  await knex.raw(`ALTER TABLE shows ADD CONSTRAINT shows_seats_check
    CHECK (total_seats > 0 AND active_seats >= 0 AND active_seats <= total_seats)`);

  await knex.schema.createTable('bookings', (t) => {
    t.increments('id');
    t.integer('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.integer('show_id').notNullable().references('shows.id').onDelete('RESTRICT');
    t.integer('seat_number').notNullable();
    t.string('status', 16).notNullable().defaultTo('booked');
    t.string('request_id', 80).notNullable();
    t.timestamp('hold_expires_at', { useTz: true }).nullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('cancelled_at', { useTz: true }).nullable();
    t.index(['user_id', 'created_at']);
    t.index(['request_id']);
  });
  await knex.raw(`ALTER TABLE bookings ADD CONSTRAINT bookings_status_check CHECK (status IN ('booked', 'held', 'cancelled', 'expired'))`);
  await knex.raw(`ALTER TABLE bookings ADD CONSTRAINT bookings_seat_check CHECK (seat_number > 0)`);
  // Invariant 1: no seat is held by two active bookings.
  await knex.raw(`CREATE UNIQUE INDEX bookings_one_active_per_seat ON bookings (show_id, seat_number) WHERE status IN ('booked', 'held')`);
  // Buyer first: the only active-bookings index that starts with show_id is the per-seat one, so a
  // lookup by (show, seat) uses it even before the planner has statistics (a new show fills fast).
  await knex.raw(`CREATE INDEX bookings_active_by_user ON bookings (user_id, show_id) WHERE status IN ('booked', 'held')`);

  // Invariant 2: each request has exactly one outcome; this is its durable home.
  await knex.schema.createTable('requests', (t) => {
    t.string('id', 80).primary();
    t.integer('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.integer('show_id').notNullable();
    t.string('type', 16).notNullable();
    t.string('status', 16).notNullable();
    t.jsonb('result').nullable();
    t.jsonb('error').nullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('finished_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['user_id', 'created_at']);
  });
  await knex.raw(`ALTER TABLE requests ADD CONSTRAINT requests_status_check CHECK (status IN ('completed', 'failed'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('requests');
  await knex.schema.dropTableIfExists('bookings');
  await knex.schema.dropTableIfExists('shows');
  await knex.schema.dropTableIfExists('movies');
  await knex.schema.dropTableIfExists('users');
}
