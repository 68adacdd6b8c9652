import type { Knex } from 'knex';

/**
 * Every deletion of a user and every change of a user's role, as a row (kept two days, longer
 * than any access token lives) and as a notification on channel bx_user_changed, both at commit.
 * Gateways listen: a token of a user with no change since it was issued is trusted without a
 * look-up.
 */
const SQL = String.raw`
CREATE TABLE user_changes (
  id bigserial PRIMARY KEY,
  user_id integer NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX user_changes_changed_at ON user_changes (changed_at);

CREATE FUNCTION bx_user_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO user_changes (user_id) VALUES (OLD.id);
  PERFORM pg_notify('bx_user_changed', OLD.id::text);
  RETURN NULL;
END $$;
CREATE TRIGGER users_deleted AFTER DELETE ON users FOR EACH ROW EXECUTE FUNCTION bx_user_changed();
CREATE TRIGGER users_role_changed AFTER UPDATE OF role ON users FOR EACH ROW
  WHEN (OLD.role IS DISTINCT FROM NEW.role) EXECUTE FUNCTION bx_user_changed();
`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(SQL);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER IF EXISTS users_role_changed ON users;
    DROP TRIGGER IF EXISTS users_deleted ON users;
    DROP FUNCTION IF EXISTS bx_user_changed();
    DROP TABLE IF EXISTS user_changes;
  `);
}
