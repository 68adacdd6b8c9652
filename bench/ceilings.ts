/**
 * npm run bench:ceilings: the bare ceilings of Boxoffice's parts on this machine, in a database
 * and queue prefix of its own (removed afterwards). `npm run bench:launch` runs them too.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from './lib/args';
import { ceilingA, ceilingsBC, ceilingTable } from './lib/ceiling-suite';
import { createBenchUsers, createLaunchShow } from './lib/fixtures';
import { describeMachine } from './lib/machine';
import { BenchStack, benchEnv, parseEnvPairs } from './lib/stack';

const DEFAULTS = { 'accept-requests': 20000, concurrency: 256, 'drain-jobs': 20000, 'tx-seconds': 5, users: 5000, env: '' };
const HELP = {
  'accept-requests': 'requests for ceiling (a)', concurrency: 'in-flight requests for ceiling (a)', 'drain-jobs': 'jobs for ceiling (b)',
  'tx-seconds': 'seconds of the allocation loop (c)', users: 'users with tokens', env: 'extra KEY=VALUE,... for the processes',
};

async function main() {
  const args = parseArgs(process.argv.slice(3), DEFAULTS, HELP);
  const tag = `${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
  const stack = new BenchStack(benchEnv({ tag, logLevel: 'warn', holdSeconds: 600, extraEnv: parseEnvPairs(args.env) }));
  const stopping = () => void stack.teardown(false).finally(() => process.exit(130));
  process.once('SIGINT', stopping);
  try {
    const db = await stack.prepareDatabase();
    const pg = (await db.raw('SHOW server_version')).rows[0].server_version;
    console.log(JSON.stringify(describeMachine(pg, 'local')));
    const users = await createBenchUsers(db, args.users, tag);
    const opts = { acceptRequests: args['accept-requests'], concurrency: args.concurrency, drainJobs: args['drain-jobs'], txSeconds: args['tx-seconds'] };
    const a = await ceilingA(stack, users, await createLaunchShow(db, 100_000, 100_000), opts);
    const bc = await ceilingsBC(stack, users, opts);
    console.log(ceilingTable({ a, ...bc }));
  } finally {
    await stack.teardown(false);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
