import type { Knex } from 'knex';
import { Booking, Movie, Show } from '../../../shared/db/models';
import { badRequest, conflict, notFound } from '../../../shared/errors';
import { queueDepth } from '../../../shared/queue/stats';
import type { RedisClient } from '../../../shared/redis';
import { layoutFromInput, LayoutInput } from '../../../shared/seating/layout';

export interface Page { limit: number; offset: number }

export async function listMovies(page: Page) {
  const [items, [{ count }]] = await Promise.all([
    Movie.query().orderBy('id').limit(page.limit).offset(page.offset),
    Movie.query().count('* as count') as unknown as Promise<{ count: number }[]>,
  ]);
  return { items: items.map((m) => m.toPublic()), total: Number(count), ...page };
}

export async function getMovie(id: number): Promise<Movie> {
  const movie = await Movie.query().findById(id);
  if (!movie) throw notFound('Movie');
  return movie;
}

export async function createMovie(input: Partial<Movie>) {
  return (await Movie.query().insert(input).returning('*')).toPublic();
}

export async function updateMovie(id: number, patch: Partial<Movie>) {
  const movie = await Movie.query().patchAndFetchById(id, patch);
  if (!movie) throw notFound('Movie');
  return movie.toPublic();
}

export async function deleteMovie(id: number) {
  await getMovie(id);
  if (await Show.query().where('movie_id', id).first()) throw conflict('MOVIE_HAS_SHOWS', 'Delete the movie\'s shows first');
  await Movie.query().deleteById(id);
}

export type ShowStatus = 'scheduled' | 'on_sale' | 'sold_out' | 'closed';

export function showStatus(show: Pick<Show, 'date_time' | 'sales_open_at' | 'total_seats' | 'active_seats'>, now = Date.now()): ShowStatus {
  if (new Date(show.date_time).getTime() <= now) return 'closed';
  if (show.sales_open_at && new Date(show.sales_open_at).getTime() > now) return 'scheduled';
  return show.active_seats >= show.total_seats ? 'sold_out' : 'on_sale';
}

/** The public view of a show, with its queue depth read from Redis. */
export async function presentShow(redis: RedisClient, show: Show) {
  return {
    id: show.id, movie_id: show.movie_id, ...(show.movie ? { movie_title: show.movie.title } : {}),
    screen_name: show.screen_name, date_time: show.date_time, total_seats: show.total_seats,
    available_seats: show.available_seats, row_lengths: show.row_lengths, max_seats_per_user: show.max_seats_per_user,
    sales_open_at: show.sales_open_at, status: showStatus(show), queue_depth: await queueDepth(redis, show.id),
  };
}

export async function findShow(id: number): Promise<Show> {
  const show = await Show.query().findById(id).withGraphFetched('movie');
  if (!show) throw notFound('Show');
  return show;
}

export async function listMovieShows(redis: RedisClient, movieId: number, page: Page) {
  await getMovie(movieId);
  const base = Show.query().where('movie_id', movieId);
  const [items, total] = await Promise.all([
    base.clone().withGraphFetched('movie').orderBy(['date_time', 'id']).limit(page.limit).offset(page.offset),
    base.clone().resultSize(),
  ]);
  return { items: await Promise.all(items.map((s) => presentShow(redis, s))), total, ...page };
}

type ShowInput = LayoutInput & { movie_id: number; screen_name: string; date_time: string; max_seats_per_user?: number; sales_open_at?: string | null };

function checkTimes(dateTime: string | Date, salesOpenAt: string | Date | null | undefined) {
  if (salesOpenAt && new Date(salesOpenAt) >= new Date(dateTime)) throw badRequest('sales_open_at must be before date_time');
}

export async function createShow(redis: RedisClient, input: ShowInput) {
  await getMovie(input.movie_id);
  checkTimes(input.date_time, input.sales_open_at);
  const rows = layoutFromInput(input);
  const show = await Show.query().insert({
    movie_id: input.movie_id, screen_name: input.screen_name, date_time: new Date(input.date_time),
    total_seats: rows.reduce((a, b) => a + b, 0), row_lengths: rows,
    max_seats_per_user: input.max_seats_per_user ?? 10,
    sales_open_at: input.sales_open_at ? new Date(input.sales_open_at) : null,
  } as Partial<Show>);
  return presentShow(redis, await findShow(show.id));
}

/** Changes a show. The layout may not drop a seat that is booked or held (checked under the show's lock). */
export async function updateShow(db: Knex, redis: RedisClient, id: number, patch: Partial<ShowInput>) {
  await db.transaction(async (trx) => {
    await trx.raw('SELECT bx_lock_show(?)', [id]);
    const show = await Show.query(trx).findById(id).forUpdate();
    if (!show) throw notFound('Show');
    const changes: Partial<Show> = {};
    if (patch.screen_name !== undefined) changes.screen_name = patch.screen_name;
    if (patch.date_time !== undefined) changes.date_time = new Date(patch.date_time);
    if (patch.max_seats_per_user !== undefined) changes.max_seats_per_user = patch.max_seats_per_user;
    if (patch.sales_open_at !== undefined) changes.sales_open_at = patch.sales_open_at ? new Date(patch.sales_open_at) : null;
    checkTimes(changes.date_time ?? show.date_time, changes.sales_open_at === undefined ? show.sales_open_at : changes.sales_open_at);
    if (['total_seats', 'rows', 'seats_per_row', 'row_lengths'].some((k) => (patch as any)[k] !== undefined)) {
      const rows = layoutFromInput(patch);
      const total = rows.reduce((a, b) => a + b, 0);
      const highest = await Booking.query(trx).where('show_id', id).whereIn('status', ['booked', 'held']).max('seat_number as max').first() as unknown as { max: number | null };
      if (highest?.max && highest.max > total) {
        throw conflict('SEATS_SOLD', `Seat ${highest.max} is booked or held; the show cannot shrink below it`, { highest_taken_seat: highest.max });
      }
      Object.assign(changes, { row_lengths: rows, total_seats: total });
    }
    await Show.query(trx).patch(changes).where('id', id);
  });
  return presentShow(redis, await findShow(id));
}

export async function deleteShow(id: number) {
  await findShow(id);
  if (await Booking.query().where('show_id', id).first()) throw conflict('SHOW_HAS_BOOKINGS', 'A show with bookings cannot be deleted');
  await Show.query().deleteById(id);
}
