import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { seed } from '../../scripts/demo-data';
import { config } from '../../shared/config';
import { Movie, Show, User } from '../../shared/db/models';
import { createUser } from '../support/fixtures';
import { testDb, TestGateway } from '../support/gateway';
import { foundationGateway } from './shared-gateway';

const ROOT = path.join(__dirname, '..', '..');

/** Runs an npm script's entry point (as `npm run <name>` does) with the test environment. */
async function runScript(entry: string) {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin', 'run.js'), entry], { cwd: ROOT, env: process.env, timeout: 60_000 });
  return stdout.trim().split('\n').map((line) => JSON.parse(line));
}

describe('seed: idempotent demo data', () => {
  let t: TestGateway;
  let first: Awaited<ReturnType<typeof seed>>;

  before(async () => {
    t = await foundationGateway();
    first = await seed(testDb());
  });

  it('when seed runs twice, then the second run adds nothing', async () => {
    const second = await seed(testDb());
    expect(second).to.deep.equal(first);
    expect(await User.query().where('username', 'john_doe').resultSize()).to.equal(1);
  });

  it('when the demo data is read, then each demo movie has upcoming shows', async () => {
    for (const title of ['The Grand Premiere', 'Midnight Matinee', 'Orbit']) {
      const movie = await Movie.query().findOne({ title });
      expect(movie, title).to.not.equal(undefined);
      const upcoming = await Show.query().where('movie_id', movie!.id).where('date_time', '>', new Date()).resultSize();
      expect(upcoming, title).to.be.greaterThan(0);
    }
  });

  it('when john_doe logs in with password123, then he gets tokens and is a customer', async () => {
    const res = await t.api.post('/login', { body: { username: 'john_doe', password: 'password123' } });
    expect(res.status, res.text).to.equal(200);
    expect((await User.query().findOne({ username: 'john_doe' }))!.role).to.equal('customer');
    expect((await User.query().findOne({ username: 'jane_smith' }))!.role).to.equal('customer');
  });

  it('when the admin logs in with ADMIN_USERNAME/ADMIN_PASSWORD, then the user is an admin and can create a movie', async () => {
    const { ADMIN_USERNAME: username, ADMIN_PASSWORD: password } = config();
    const login = await t.api.post('/login', { body: { username, password } });
    expect(login.status, login.text).to.equal(200);
    expect((await User.query().findOne({ username }))!.role).to.equal('admin');
    const res = await t.api.post('/movies', { token: login.body.access, body: { title: 'Seeded admin works', duration_minutes: 90 } });
    expect(res.status, res.text).to.equal(201);
  });

  it('when the admin username belongs to a customer, then seed refuses and does not promote them', async () => {
    const squatter = await createUser('customer');
    let failed: Error | undefined;
    await seed(testDb(), { username: squatter.username, password: 'whatever-password' }).catch((err: Error) => { failed = err; });
    expect(failed?.message).to.include(squatter.username);
    expect((await User.query().findById(squatter.id))!.role).to.equal('customer');
  });

  it('when every show of a demo movie is in the past, then seed adds upcoming ones', async () => {
    const orbit = (await Movie.query().findOne({ title: 'Orbit' }))!;
    await Show.query().patch({ date_time: new Date(Date.now() - 3600_000) } as Partial<Show>).where('movie_id', orbit.id);
    await seed(testDb());
    const upcoming = await Show.query().where('movie_id', orbit.id).where('date_time', '>', new Date()).resultSize();
    expect(upcoming).to.equal(2);
  });

  it('when npm run migrate runs on an up-to-date database, then it exits 0 and applies nothing', async () => {
    const [out] = await runScript('scripts/migrate');
    expect(out).to.deep.equal({ msg: 'migrated', applied: [] });
  });

  it('when npm run seed runs, then it exits 0 and reports the same counts as the seed function', async () => {
    const expected = await seed(testDb());
    const [out] = await runScript('scripts/seed');
    expect(out).to.include({ msg: 'seeded', ...expected, admin: config().ADMIN_USERNAME });
  });
});
