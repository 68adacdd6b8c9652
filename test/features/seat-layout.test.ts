import { expect } from 'chai';
import { AppError } from '../../shared/errors';
import { layoutFromInput, seatLabel, seatPosition } from '../../shared/seating/layout';
import { createUser, TestUser } from '../support/fixtures';
import { startTestGateway, stopTestGateway, testDb, TestGateway } from '../support/gateway';
import { spawnWorker, WorkerProcess } from '../support/workers';
import { stopWorkers } from './feature-helpers';

/** Checks that every element opened in an SVG document is closed, in order. */
function assertBalancedTags(svg: string) {
  const stack: string[] = [];
  for (const [, close, name, selfClosing] of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    if (selfClosing) continue;
    if (!close) stack.push(name);
    else expect(stack.pop(), `</${name}>`).to.equal(name);
  }
  expect(stack).to.deep.equal([]);
}

describe('seat layout: rows, labels and row-major numbers', () => {
  it('when a layout is given as rows x seats_per_row, row_lengths or total_seats, then the rows come out row A first', () => {
    expect(layoutFromInput({ rows: 3, seats_per_row: 4 })).to.deep.equal([4, 4, 4]);
    expect(layoutFromInput({ row_lengths: [3, 5, 2] })).to.deep.equal([3, 5, 2]);
    expect(layoutFromInput({ row_lengths: [3, 5, 2], total_seats: 10 })).to.deep.equal([3, 5, 2]);
    expect(layoutFromInput({ total_seats: 45 })).to.deep.equal([15, 15, 15]);
  });

  it('when layout fields disagree or are missing, then a 400 names the problem', () => {
    const bad = [{ row_lengths: [3], rows: 1, seats_per_row: 3 }, { rows: 3 }, { row_lengths: [3, 5], total_seats: 9 }, {}, { rows: 27, seats_per_row: 1 }];
    for (const input of bad) {
      expect(() => layoutFromInput(input), JSON.stringify(input)).to.throw(AppError).with.property('status', 400);
    }
  });

  it('when rows have uneven lengths, then numbers run row-major and labels restart at 1 on each row', () => {
    const rows = [3, 5, 2];
    const all = Array.from({ length: 11 }, (_, i) => seatLabel(rows, i + 1));
    expect(all).to.deep.equal(['A1', 'A2', 'A3', 'B1', 'B2', 'B3', 'B4', 'B5', 'C1', 'C2', undefined]);
    expect(seatPosition(rows, 8)).to.deep.equal({ row: 1, col: 5 });
    expect(seatLabel(rows, 0)).to.equal(undefined);
  });

  it('when Postgres labels seats (bx_seat_label), then it agrees with the TypeScript labels for every seat', async () => {
    for (const rows of [[3, 5, 2], [1], Array.from({ length: 26 }, (_, i) => 1 + (i % 7))]) {
      const total = rows.reduce((a, b) => a + b, 0);
      const res = await testDb().raw('SELECT s, bx_seat_label(?::integer[], s) AS label FROM generate_series(1, ?) s ORDER BY s', [rows, total + 1]);
      expect(res.rows.map((r: { label: string | null }) => r.label ?? undefined)).to.deep.equal(
        Array.from({ length: total + 1 }, (_, i) => seatLabel(rows, i + 1)));
    }
  });
});

describe('seat layout over HTTP: responses and the seat map', () => {
  let t: TestGateway;
  let worker: WorkerProcess;
  let admin: TestUser;
  let customer: TestUser;
  let showId: number;
  before(async () => {
    [t, worker] = await Promise.all([startTestGateway(), spawnWorker()]);
    [admin, customer] = await Promise.all([createUser('admin'), createUser()]);
  });
  after(() => Promise.all([stopWorkers([worker]), stopTestGateway(t)]));

  it('when an admin creates shows by rows x seats_per_row or by row_lengths, then the show carries its rows', async () => {
    const movie = await t.api.post('/movies', { token: admin.token, body: { title: 'Layouts', duration_minutes: 90 } });
    expect(movie.status, movie.text).to.equal(201);
    const date_time = new Date(Date.now() + 86_400_000).toISOString();
    const grid = await t.api.post('/shows', { token: admin.token, body: { movie_id: movie.body.id, screen_name: 'Grid', date_time, rows: 3, seats_per_row: 4 } });
    expect(grid.status, grid.text).to.equal(201);
    expect(grid.body).to.include({ total_seats: 12, available_seats: 12 });
    expect(grid.body.row_lengths).to.deep.equal([4, 4, 4]);
    const uneven = await t.api.post('/shows', { token: admin.token, body: { movie_id: movie.body.id, screen_name: 'Uneven', date_time, row_lengths: [3, 5, 2] } });
    expect(uneven.status, uneven.text).to.equal(201);
    expect(uneven.body).to.include({ total_seats: 10, status: 'on_sale' });
    showId = uneven.body.id;
    const both = await t.api.post('/shows', { token: admin.token, body: { movie_id: movie.body.id, screen_name: 'Bad', date_time, rows: 2, seats_per_row: 2, row_lengths: [4] } });
    expect(both.status, both.text).to.equal(400);
  });

  it('when a customer books by seat_number and seat_numbers, then each booking carries its number and label', async () => {
    const one = await t.api.post(`/shows/${showId}/book`, { token: customer.token, body: { seat_number: 4 } });
    expect(one.status, one.text).to.equal(201);
    expect(one.body.result.bookings[0]).to.include({ seat_number: 4, seat_label: 'B1', status: 'booked' });
    const two = await t.api.post(`/shows/${showId}/book`, { token: customer.token, body: { seat_numbers: [9, 8] } });
    expect(two.status, two.text).to.equal(201);
    expect(two.body.result.bookings.map((b: any) => [b.seat_number, b.seat_label])).to.deep.equal([[8, 'B5'], [9, 'C1']]);
    const held = await t.api.post(`/shows/${showId}/book`, { token: customer.token, body: { seat_number: 1, hold: true } });
    expect(held.status, held.text).to.equal(201);
    expect(held.body.result.bookings[0]).to.include({ seat_number: 1, seat_label: 'A1', status: 'held' });
    const outside = await t.api.post(`/shows/${showId}/book`, { token: customer.token, body: { seat_number: 11 } });
    expect(outside.status, outside.text).to.equal(400);
    const mine = await t.api.get('/my-bookings', { token: customer.token });
    expect(mine.body.items.map((b: any) => b.seat_label)).to.have.members(['B1', 'B5', 'C1', 'A1']);
  });

  it('when the seat map is read as JSON, then it lists every row with each seat number, label and status', async () => {
    const res = await t.api.get(`/shows/${showId}/seats`);
    expect(res.status, res.text).to.equal(200);
    expect(res.body).to.include({ show_id: showId, total_seats: 10, available_seats: 6 });
    expect(res.body.rows.map((r: any) => [r.row, r.seats.length])).to.deep.equal([['A', 3], ['B', 5], ['C', 2]]);
    const status = Object.fromEntries(res.body.rows.flatMap((r: any) => r.seats.map((s: any) => [s.label, `${s.number}:${s.status}`])));
    expect(status).to.deep.equal({
      A1: '1:held', A2: '2:free', A3: '3:free', B1: '4:booked', B2: '5:free', B3: '6:free', B4: '7:free', B5: '8:booked', C1: '9:booked', C2: '10:free',
    });
    expect(res.body.taken).to.deep.equal([1, 4, 8, 9]);
    expect(res.body.free).to.deep.equal([2, 3, 5, 6, 7, 10]);
  });

  it('when the seat map is read as text, then each row is one line of seat marks under the screen', async () => {
    const res = await t.api.get(`/shows/${showId}/seats?format=text`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/plain/);
    const lines = res.text.split('\n');
    expect(lines[0]).to.include('SCREEN');
    const rowsText = Object.fromEntries(lines.slice(1, 4).map((l) => [l[0], l.slice(1).trim()]));
    expect(rowsText).to.deep.equal({ A: 'h..', B: 'X...X', C: 'X.' });
    expect(res.text).to.include('6/10 free');
  });

  it('when the seat map is read as SVG, then it is one well-formed picture with one square per seat', async () => {
    const res = await t.api.get(`/shows/${showId}/seats?format=svg`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^image\/svg\+xml/);
    expect(res.text).to.match(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]* viewBox="0 0 \d+ \d+"/);
    assertBalancedTags(res.text);
    const seats = [...res.text.matchAll(/<rect [^>]*fill="(#[0-9a-f]{6})"><title>([A-Z]\d+) (\w+)<\/title><\/rect>/g)];
    expect(seats).to.have.length(10);
    expect(seats.map((m) => `${m[2]} ${m[3]}`)).to.include.members(['A1 held', 'B1 booked', 'C2 free']);
    expect(new Set(seats.filter((m) => m[3] === 'free').map((m) => m[1])).size).to.equal(1);
  });
});
