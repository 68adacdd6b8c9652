import type { Knex } from 'knex';

/**
 * Allocation runs as PL/pgSQL so one job is one round trip and one transaction:
 * take the per-show advisory lock, return the stored outcome if the request already
 * has one, check, write the bookings and store the outcome.
 */
const SQL = String.raw`
-- Keeps shows.active_seats (booked + held) equal to the bookings, whatever writes them.
CREATE FUNCTION bx_count_active() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE shows s SET active_seats = s.active_seats - d.n
      FROM (SELECT show_id, count(*) AS n FROM old_rows WHERE status IN ('booked', 'held') GROUP BY show_id) d
     WHERE s.id = d.show_id;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    UPDATE shows s SET active_seats = s.active_seats + d.n
      FROM (SELECT show_id, count(*) AS n FROM new_rows WHERE status IN ('booked', 'held') GROUP BY show_id) d
     WHERE s.id = d.show_id;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER bookings_count_insert AFTER INSERT ON bookings REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION bx_count_active();
CREATE TRIGGER bookings_count_update AFTER UPDATE ON bookings REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION bx_count_active();
CREATE TRIGGER bookings_count_delete AFTER DELETE ON bookings REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION bx_count_active();

-- Row-major seat label: row A is the first row_lengths entry.
CREATE FUNCTION bx_seat_label(p_rows integer[], p_seat integer) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  v_left integer := p_seat;
BEGIN
  FOR i IN 1 .. coalesce(cardinality(p_rows), 0) LOOP
    IF v_left <= p_rows[i] THEN RETURN chr(64 + i) || v_left; END IF;
    v_left := v_left - p_rows[i];
  END LOOP;
  RETURN NULL;
END $$;

-- Timestamps in stored results read like the API's others: ISO 8601 in UTC with milliseconds.
-- STABLE like to_char, so that it is inlined into its callers.
CREATE FUNCTION bx_iso(p timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT to_char(p AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

CREATE FUNCTION bx_booking_json(b bookings, p_rows integer[]) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('id', b.id, 'show_id', b.show_id, 'seat_number', b.seat_number,
    'seat_label', bx_seat_label(p_rows, b.seat_number), 'status', b.status,
    'hold_expires_at', bx_iso(b.hold_expires_at), 'created_at', bx_iso(b.created_at), 'cancelled_at', bx_iso(b.cancelled_at))
$$;

CREATE FUNCTION bx_lock_show(p_show_id integer) RETURNS void LANGUAGE sql AS $$
  SELECT pg_advisory_xact_lock(7001, p_show_id)
$$;

-- The stored outcome of a request, or NULL.
CREATE FUNCTION bx_outcome(p_request_id text) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('id', r.id, 'type', r.type, 'show_id', r.show_id, 'user_id', r.user_id,
           'status', r.status, 'result', r.result, 'error', r.error,
           'created_at', r.created_at, 'finished_at', r.finished_at)
    FROM requests r WHERE r.id = p_request_id
$$;

-- Stores a request's one outcome and returns it (as bx_outcome shows it) with the show's seats left.
CREATE FUNCTION bx_record(p_request_id text, p_user_id integer, p_show_id integer, p_type text,
                          p_result jsonb, p_error jsonb, p_created_at timestamptz) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_out jsonb;
BEGIN
  INSERT INTO requests AS r (id, user_id, show_id, type, status, result, error, created_at, finished_at)
  VALUES (p_request_id, p_user_id, p_show_id, p_type,
          CASE WHEN p_error IS NULL THEN 'completed' ELSE 'failed' END, p_result, p_error, p_created_at, clock_timestamp())
  RETURNING jsonb_build_object('id', r.id, 'type', r.type, 'show_id', r.show_id, 'user_id', r.user_id,
           'status', r.status, 'result', r.result, 'error', r.error,
           'created_at', r.created_at, 'finished_at', r.finished_at) INTO v_out;
  RETURN v_out || jsonb_build_object('available_seats', (SELECT total_seats - active_seats FROM shows WHERE id = p_show_id));
END $$;

CREATE FUNCTION bx_error(p_code text, p_message text, p_details jsonb DEFAULT NULL) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_strip_nulls(jsonb_build_object('code', p_code, 'message', p_message, 'details', p_details))
$$;

-- Books or holds (hold_seconds > 0) the seats of several requests of one show, in their order, all
-- or nothing per request, each exactly as if it ran alone. Jobs: [{request_id, user_id, show_id,
-- seats, hold_seconds, created_at, and optionally best, expect, fail}]. One lock and a few set-based statements
-- for the whole list (one bookings insert, one requests insert), so a batch costs little more than
-- one request. Best-available jobs come with seats (or a failure) chosen by the caller from the seat
-- map, assuming each earlier job books exactly when its expect says so; once that assumption breaks, the function stops
-- before the next best-available job and the caller chooses again. Returns the outcomes of the jobs
-- it ran (a prefix, never empty), in order, each with the seats left after it.
CREATE FUNCTION bx_book_batch(p_jobs jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_show_id integer := (p_jobs -> 0 ->> 'show_id')::integer;
  v_show shows%ROWTYPE;
  v_found boolean;
  v_prior jsonb;
  v_taken jsonb;
  v_mine jsonb;
  v_active integer;
  v_job jsonb;
  v_seats integer[];
  v_user integer;
  v_n integer;
  v_hit integer[];
  v_seat integer;
  v_out_of_range boolean;
  v_diverged boolean := false;
  v_count integer := 0;
  v_error jsonb;
  v_expires timestamptz;
  v_decided jsonb[] := '{}';
  v_stored jsonb;
  v_out jsonb[] := '{}';
  b_user integer[] := '{}';
  b_seat integer[] := '{}';
  b_req text[] := '{}';
  b_exp timestamptz[] := '{}';
  b_hold boolean[] := '{}';
BEGIN
  IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_jobs) j WHERE (j ->> 'show_id')::integer IS DISTINCT FROM v_show_id) THEN
    RAISE EXCEPTION 'bx_book_batch: every job must be for show %', v_show_id;
  END IF;
  PERFORM bx_lock_show(v_show_id);
  SELECT * INTO v_show FROM shows WHERE id = v_show_id;
  v_found := FOUND;
  -- One index probe per request id, seat and buyer of the batch: a show fills faster than its
  -- statistics follow, so nothing here may depend on the planner's row estimates.
  SELECT coalesce(jsonb_object_agg(r.id, bx_outcome(r.id)), '{}') INTO v_prior
    FROM requests r WHERE r.id = ANY (ARRAY(SELECT j ->> 'request_id' FROM jsonb_array_elements(p_jobs) j));
  SELECT coalesce(jsonb_object_agg(s::text, true) FILTER (WHERE taken), '{}') INTO v_taken
    FROM (SELECT s, (SELECT true FROM bookings b WHERE b.show_id = v_show_id AND b.seat_number = asked.s AND b.status IN ('booked', 'held')) AS taken
            FROM (SELECT jsonb_array_elements_text(j -> 'seats')::integer AS s FROM jsonb_array_elements(p_jobs) j) asked) probed;
  SELECT coalesce(jsonb_object_agg(u::text, (SELECT count(*) FROM bookings b
           WHERE b.show_id = v_show_id AND b.user_id = buyers.u AND b.status IN ('booked', 'held'))), '{}') INTO v_mine
    FROM (SELECT DISTINCT (j ->> 'user_id')::integer AS u FROM jsonb_array_elements(p_jobs) j) buyers;
  v_active := v_show.active_seats;

  FOR i IN 0 .. jsonb_array_length(p_jobs) - 1 LOOP
    v_job := p_jobs -> i;
    EXIT WHEN v_diverged AND (v_job -> 'best') = 'true';
    v_count := i + 1;
    IF (v_prior -> (v_job ->> 'request_id')) IS NOT NULL THEN
      v_decided := v_decided || jsonb_build_object('replay', true);
      v_diverged := v_diverged OR (v_job ->> 'expect') IS DISTINCT FROM 'false';
      CONTINUE;
    END IF;
    v_prior := v_prior || jsonb_build_object(v_job ->> 'request_id', true);
    v_seats := translate(v_job ->> 'seats', '[]', '{}')::integer[];
    v_user := (v_job ->> 'user_id')::integer;
    v_error := NULL;
    v_expires := NULL;
    v_hit := '{}';
    v_out_of_range := false;
    FOREACH v_seat IN ARRAY v_seats LOOP
      v_out_of_range := v_out_of_range OR v_seat > v_show.total_seats;
      IF (v_taken -> v_seat::text) IS NOT NULL AND NOT v_seat = ANY (v_hit) THEN v_hit := v_hit || v_seat; END IF;
    END LOOP;
    IF (v_job -> 'fail') IS NOT NULL THEN
      v_error := bx_error(v_job -> 'fail' ->> 'code', v_job -> 'fail' ->> 'message', v_job -> 'fail' -> 'details');
    ELSIF NOT v_found THEN
      v_error := bx_error('NOT_FOUND', 'Show not found');
    ELSIF v_show.date_time <= now() THEN
      v_error := bx_error('SHOW_STARTED', 'The show has already started');
    ELSIF cardinality(v_seats) = 0 OR v_active >= v_show.total_seats THEN
      v_error := bx_error('SOLD_OUT', 'The show is sold out');
    ELSIF v_out_of_range THEN
      v_error := bx_error('INVALID_SEAT', 'Seat out of range', jsonb_build_object('total_seats', v_show.total_seats));
    ELSIF cardinality(v_hit) > 0 THEN
      v_hit := ARRAY(SELECT s FROM unnest(v_hit) s ORDER BY s);
      v_error := bx_error('SEAT_TAKEN', 'Seat already taken: ' || array_to_string(v_hit, ', '), jsonb_build_object('seats', v_hit));
    ELSE
      v_n := coalesce((v_mine ->> v_user::text)::integer, 0);
      IF v_n + cardinality(v_seats) > v_show.max_seats_per_user THEN
        v_error := bx_error('LIMIT_EXCEEDED', 'At most ' || v_show.max_seats_per_user || ' seats per buyer for this show',
                            jsonb_build_object('limit', v_show.max_seats_per_user, 'already', v_n));
      END IF;
    END IF;
    IF v_error IS NULL THEN
      IF (v_job ->> 'hold_seconds')::integer > 0 THEN
        v_expires := date_trunc('milliseconds', clock_timestamp()) + make_interval(secs => (v_job ->> 'hold_seconds')::integer);
      END IF;
      b_user := b_user || array_fill(v_user, ARRAY[cardinality(v_seats)]);
      b_seat := b_seat || v_seats;
      b_req := b_req || array_fill(v_job ->> 'request_id', ARRAY[cardinality(v_seats)]);
      b_exp := b_exp || array_fill(v_expires, ARRAY[cardinality(v_seats)]);
      b_hold := b_hold || array_fill(v_expires IS NOT NULL, ARRAY[cardinality(v_seats)]);
      FOREACH v_seat IN ARRAY v_seats LOOP v_taken := v_taken || jsonb_build_object(v_seat::text, true); END LOOP;
      v_mine := v_mine || jsonb_build_object(v_user::text, v_n + cardinality(v_seats));
      v_active := v_active + cardinality(v_seats);
    END IF;
    v_diverged := v_diverged OR (v_job ->> 'expect') IS DISTINCT FROM (v_error IS NULL)::text;
    v_decided := v_decided || jsonb_build_object('request_id', v_job ->> 'request_id', 'user_id', v_user, 'error', v_error,
      'expires', v_expires, 'created_at', v_job ->> 'created_at', 'available', CASE WHEN v_found THEN v_show.total_seats - v_active END,
      'finished', clock_timestamp());
  END LOOP;

  WITH ins AS (
    INSERT INTO bookings (user_id, show_id, seat_number, status, request_id, hold_expires_at)
    SELECT u, v_show_id, s, CASE WHEN h THEN 'held' ELSE 'booked' END, r, e FROM unnest(b_user, b_seat, b_req, b_exp, b_hold) AS t(u, s, r, e, h)
    RETURNING *),
  agg AS (
    SELECT ins.request_id, jsonb_agg(bx_booking_json(ins, v_show.row_lengths) ORDER BY ins.seat_number) AS bookings FROM ins GROUP BY ins.request_id),
  rec AS (
    INSERT INTO requests AS r (id, user_id, show_id, type, status, result, error, created_at, finished_at)
    SELECT d ->> 'request_id', (d ->> 'user_id')::integer, v_show_id, 'book',
           CASE WHEN d -> 'error' = 'null' THEN 'completed' ELSE 'failed' END,
           CASE WHEN d -> 'error' = 'null' THEN jsonb_strip_nulls(jsonb_build_object('bookings', agg.bookings, 'expires_at', bx_iso((d ->> 'expires')::timestamptz))) END,
           CASE WHEN d -> 'error' <> 'null' THEN d -> 'error' END,
           (d ->> 'created_at')::timestamptz, (d ->> 'finished')::timestamptz
      FROM unnest(v_decided) d LEFT JOIN agg ON agg.request_id = d ->> 'request_id'
     WHERE (d -> 'replay') IS NULL
    RETURNING r.id, jsonb_build_object('id', r.id, 'type', r.type, 'show_id', r.show_id, 'user_id', r.user_id,
           'status', r.status, 'result', r.result, 'error', r.error, 'created_at', r.created_at, 'finished_at', r.finished_at) AS outcome)
  SELECT coalesce(jsonb_object_agg(rec.id, rec.outcome), '{}') INTO v_stored FROM rec;

  FOR i IN 0 .. v_count - 1 LOOP
    IF (v_decided[i + 1] -> 'replay') IS NOT NULL THEN
      v_out := v_out || (bx_outcome(p_jobs -> i ->> 'request_id') || '{"replayed": true}');
    ELSE
      v_out := v_out || (v_stored -> (p_jobs -> i ->> 'request_id') || jsonb_build_object('available_seats', v_decided[i + 1] -> 'available'));
    END IF;
  END LOOP;
  RETURN to_jsonb(v_out);
END $$;

-- Books (p_hold_seconds = 0) or holds the given seats of one request, all or nothing.
CREATE FUNCTION bx_book(p_request_id text, p_user_id integer, p_show_id integer, p_seats integer[],
                        p_hold_seconds integer, p_created_at timestamptz) RETURNS jsonb LANGUAGE sql AS $$
  SELECT bx_book_batch(jsonb_build_array(jsonb_build_object('request_id', p_request_id, 'user_id', p_user_id, 'show_id', p_show_id,
    'seats', coalesce(to_jsonb(p_seats), '[]'), 'hold_seconds', p_hold_seconds, 'created_at', p_created_at))) -> 0
$$;

-- Cancels one booked or held seat of the caller's.
CREATE FUNCTION bx_cancel(p_request_id text, p_user_id integer, p_booking_id integer, p_created_at timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_b bookings%ROWTYPE;
  v_out jsonb;
  v_rows integer[];
BEGIN
  SELECT * INTO v_b FROM bookings WHERE id = p_booking_id;
  IF NOT FOUND OR v_b.user_id <> p_user_id THEN
    v_out := bx_outcome(p_request_id);
    IF v_out IS NOT NULL THEN RETURN v_out || '{"replayed": true}'; END IF;
    RETURN bx_record(p_request_id, p_user_id, coalesce(v_b.show_id, 0), 'cancel', NULL, bx_error('NOT_FOUND', 'Booking not found'), p_created_at);
  END IF;
  PERFORM bx_lock_show(v_b.show_id);
  v_out := bx_outcome(p_request_id);
  IF v_out IS NOT NULL THEN RETURN v_out || '{"replayed": true}'; END IF;
  SELECT * INTO v_b FROM bookings WHERE id = p_booking_id;
  SELECT row_lengths INTO v_rows FROM shows WHERE id = v_b.show_id;
  IF v_b.status NOT IN ('booked', 'held') THEN
    RETURN bx_record(p_request_id, p_user_id, v_b.show_id, 'cancel', NULL,
                     bx_error('ALREADY_CANCELLED', 'Booking is already ' || v_b.status, jsonb_build_object('status', v_b.status)), p_created_at);
  END IF;
  UPDATE bookings SET status = 'cancelled', cancelled_at = clock_timestamp() WHERE id = p_booking_id RETURNING * INTO v_b;
  RETURN bx_record(p_request_id, p_user_id, v_b.show_id, 'cancel',
                   jsonb_build_object('bookings', jsonb_build_array(bx_booking_json(v_b, v_rows))), NULL, p_created_at);
END $$;

-- Turns every seat of a live hold into a booking; an expired hold is released and answers HOLD_EXPIRED.
CREATE FUNCTION bx_confirm(p_request_id text, p_user_id integer, p_booking_id integer, p_created_at timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_b bookings%ROWTYPE;
  v_out jsonb;
  v_rows integer[];
  v_bookings jsonb;
BEGIN
  SELECT * INTO v_b FROM bookings WHERE id = p_booking_id;
  IF NOT FOUND OR v_b.user_id <> p_user_id THEN
    v_out := bx_outcome(p_request_id);
    IF v_out IS NOT NULL THEN RETURN v_out || '{"replayed": true}'; END IF;
    RETURN bx_record(p_request_id, p_user_id, coalesce(v_b.show_id, 0), 'confirm', NULL, bx_error('NOT_FOUND', 'Booking not found'), p_created_at);
  END IF;
  PERFORM bx_lock_show(v_b.show_id);
  v_out := bx_outcome(p_request_id);
  IF v_out IS NOT NULL THEN RETURN v_out || '{"replayed": true}'; END IF;
  SELECT * INTO v_b FROM bookings WHERE id = p_booking_id;
  SELECT row_lengths INTO v_rows FROM shows WHERE id = v_b.show_id;
  IF v_b.status = 'expired' OR (v_b.status = 'held' AND v_b.hold_expires_at <= clock_timestamp()) THEN
    UPDATE bookings SET status = 'expired' WHERE request_id = v_b.request_id AND status = 'held';
    RETURN bx_record(p_request_id, p_user_id, v_b.show_id, 'confirm', NULL,
                     bx_error('HOLD_EXPIRED', 'The hold expired at ' || bx_iso(v_b.hold_expires_at), jsonb_build_object('expired_at', bx_iso(v_b.hold_expires_at))), p_created_at);
  END IF;
  IF v_b.status <> 'held' THEN
    RETURN bx_record(p_request_id, p_user_id, v_b.show_id, 'confirm', NULL,
                     bx_error('NOT_HELD', 'Booking is ' || v_b.status || ', not held', jsonb_build_object('status', v_b.status)), p_created_at);
  END IF;
  WITH upd AS (
    UPDATE bookings SET status = 'booked', hold_expires_at = NULL
     WHERE request_id = v_b.request_id AND user_id = p_user_id AND status = 'held'
    RETURNING *)
  SELECT jsonb_agg(bx_booking_json(upd, v_rows) ORDER BY upd.seat_number) INTO v_bookings FROM upd;
  RETURN bx_record(p_request_id, p_user_id, v_b.show_id, 'confirm', jsonb_build_object('bookings', v_bookings), NULL, p_created_at);
END $$;

-- Releases a hold whose time is up. Returns how long to wait if it is not up yet.
CREATE FUNCTION bx_expire_hold(p_show_id integer, p_hold_request_id text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_released integer[];
  v_next timestamptz;
BEGIN
  PERFORM bx_lock_show(p_show_id);
  WITH upd AS (
    UPDATE bookings SET status = 'expired'
     WHERE request_id = p_hold_request_id AND status = 'held' AND hold_expires_at <= clock_timestamp()
    RETURNING seat_number)
  SELECT array_agg(seat_number ORDER BY seat_number) INTO v_released FROM upd;
  SELECT min(hold_expires_at) INTO v_next FROM bookings WHERE request_id = p_hold_request_id AND status = 'held';
  RETURN jsonb_build_object('released', coalesce(v_released, '{}'),
    'retry_in_ms', CASE WHEN v_next IS NULL THEN NULL ELSE greatest(0, ceil(extract(epoch FROM v_next - clock_timestamp()) * 1000)) END,
    'available_seats', (SELECT total_seats - active_seats FROM shows WHERE id = p_show_id));
END $$;
`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(SQL);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER IF EXISTS bookings_count_insert ON bookings;
    DROP TRIGGER IF EXISTS bookings_count_update ON bookings;
    DROP TRIGGER IF EXISTS bookings_count_delete ON bookings;
    DROP FUNCTION IF EXISTS bx_expire_hold, bx_confirm, bx_cancel, bx_book, bx_book_batch, bx_error, bx_record, bx_outcome,
      bx_lock_show, bx_booking_json, bx_iso, bx_seat_label, bx_count_active;
  `);
}
