import { expect } from 'chai';
import { createShow, createUsers, TestUser } from '../support/fixtures';
import { testDb } from '../support/gateway';
import { waitForOutcomes } from '../support/invariants';
import { spawnWorker, WorkerProcess } from '../support/workers';
import { GatewayProcess, privatePrefix, spawnGateway } from './processes';

/** Parses Prometheus text into samples: name, labels and value. */
function samples(text: string) {
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((line) => {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)!;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    return { name: m[1], labels, value: Number(m[3]) };
  });
}

const value = (text: string, name: string, labels: Record<string, string>) =>
  samples(text).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);

describe('ops: Prometheus metrics', function () {
  this.timeout(60_000);
  let gateway: GatewayProcess;
  let worker: WorkerProcess;
  let users: TestUser[];
  let showId: number;
  let queuedStatus: string;

  before(async () => {
    const prefix = privatePrefix('metrics');
    [gateway, worker] = await Promise.all([spawnGateway({ QUEUE_PREFIX: prefix }), spawnWorker({ QUEUE_PREFIX: prefix })]);
    users = await createUsers(8);
    showId = (await createShow({ total_seats: 20 })).id;
    const ok = await gateway.api.post(`/shows/${showId}/book`, { token: users[0].token, body: { seat_number: 1 } });
    const taken = await gateway.api.post(`/shows/${showId}/book`, { token: users[1].token, body: { seat_number: 1 } });
    const queued = await gateway.api.post(`/shows/${showId}/book`, { token: users[2].token, body: { seat_number: 2 }, headers: { Prefer: 'respond-async' } });
    expect([ok.status, taken.status], taken.text).to.deep.equal([201, 409]);
    expect(queued.status, 'respond-async answers 202, or 201 when the job finished first').to.be.oneOf([201, 202]);
    queuedStatus = String(queued.status);
    await waitForOutcomes(testDb(), [ok.body.id, taken.body.error.details.job_id, queued.body.id], 20_000);
    await gateway.api.get(`/shows/${showId}`);
  });
  after(() => Promise.all([gateway.kill('SIGTERM'), worker.kill('SIGTERM')]));

  it('when the gateway has served requests, then GET /metrics has the duration histogram by route and status and the enqueued counter', async () => {
    const res = await gateway.api.get('/metrics');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/plain/);
    const hist = 'boxoffice_http_request_duration_seconds_count';
    const book = (status: string) => value(res.text, hist, { method: 'POST', route: '/shows/{id}/book', status });
    expect({ 201: book('201'), 202: book('202'), 409: book('409') }).to.deep.equal(queuedStatus === '201' ? { 201: 2, 202: 0, 409: 1 } : { 201: 1, 202: 1, 409: 1 });
    expect(value(res.text, hist, { method: 'GET', route: '/shows/{id}', status: '200' })).to.equal(1);
    expect(res.text).to.include('boxoffice_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/shows/{id}/book",status="201"}');
    expect(value(res.text, 'boxoffice_jobs_enqueued_total', { type: 'book' })).to.equal(3);
  });

  it('when the gateway is scraped, then it reports its Postgres pool and Redis connections and bounded queue-depth gauges', async () => {
    const text = (await gateway.api.get('/metrics')).text;
    const pool = samples(text).filter((s) => s.name === 'boxoffice_db_pool_connections' && s.labels.component === 'gateway');
    expect(pool.map((s) => s.labels.state).sort()).to.deep.equal(['free', 'pending_acquires', 'pending_creates', 'used']);
    expect(value(text, 'boxoffice_redis_connection_up', { connection: 'gateway' })).to.equal(1);
    expect(value(text, 'boxoffice_redis_connection_up', { connection: 'gateway-results' })).to.equal(1);
    expect(samples(text).filter((s) => s.name === 'boxoffice_queue_depth_top').length).to.be.at.most(10);
    expect(samples(text).some((s) => s.name === 'boxoffice_queue_depth_total')).to.equal(true);
  });

  it('when an unknown path is requested, then its route label is "unmatched", not the path', async () => {
    await gateway.api.get('/no/such/path/12345');
    const text = (await gateway.api.get('/metrics')).text;
    expect(value(text, 'boxoffice_http_request_duration_seconds_count', { route: 'unmatched', status: '404' })).to.be.at.least(1);
    expect(text).to.not.include('/no/such/path');
  });

  it('when the worker has processed jobs, then its metrics port shows them by type and outcome, with wait and processing times', async () => {
    const port = worker.logs.find((l) => l.msg === 'worker started').metrics_port;
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    const text = await res.text();
    expect(res.status).to.equal(200);
    const finished = 'boxoffice_jobs_finished_total';
    expect(value(text, finished, { type: 'book', status: 'completed', outcome: 'completed' })).to.equal(2);
    expect(value(text, finished, { type: 'book', status: 'failed', outcome: 'SEAT_TAKEN' })).to.equal(1);
    expect(value(text, 'boxoffice_job_wait_seconds_count', { type: 'book' })).to.equal(3);
    expect(value(text, 'boxoffice_job_processing_seconds_count', { type: 'book' })).to.equal(3);
    expect(value(text, 'boxoffice_redis_connection_up', { connection: 'worker-bull' })).to.equal(1);
    expect(samples(text).some((s) => s.name === 'boxoffice_db_pool_connections' && s.labels.component === 'worker')).to.equal(true);
  });

  it('when the worker finishes a job, then it logs one JSON "job done" line with request id, job id, show id, outcome and duration', () => {
    const done = worker.logs.filter((l) => l.msg === 'job done' && l.show_id === showId);
    expect(done).to.have.length(3);
    for (const l of done) {
      expect(l).to.include.keys('request_id', 'job_id', 'show_id', 'type', 'status', 'duration_ms');
      expect(l.request_id).to.equal(l.job_id);
    }
    expect(done.map((l) => l.code ?? l.status).sort()).to.deep.equal(['SEAT_TAKEN', 'completed', 'completed']);
  });

  it('when twelve shows have queued work, then the depth gauge names only the ten busiest, by rank, and the total counts all', async () => {
    expect(await worker.kill('SIGTERM')).to.equal(0);
    const shows = await Promise.all(Array.from({ length: 12 }, () => createShow({ total_seats: 20 })));
    await Promise.all(shows.flatMap((show, i) => Array.from({ length: i + 1 }, (_, j) => gateway.api.post(`/shows/${show.id}/book`, {
      token: users[j % users.length].token, body: { seat_number: j + 1 }, headers: { Prefer: 'respond-async' },
    }))));
    const text = (await gateway.api.get('/metrics')).text;
    const top = samples(text).filter((x) => x.name === 'boxoffice_queue_depth_top').sort((a, b) => Number(a.labels.rank) - Number(b.labels.rank));
    expect(top.map((x) => [x.labels.rank, x.labels.show_id, x.value])).to.deep.equal(
      Array.from({ length: 10 }, (_, r) => [String(r + 1), String(shows[11 - r].id), 12 - r]),
    );
    expect(value(text, 'boxoffice_queue_depth_total', {})).to.equal(78);
    expect(value(text, 'boxoffice_shows_with_work', {})).to.equal(12);
  });
});
