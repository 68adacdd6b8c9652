import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { config } from '../../shared/config';
import { createRedis, RedisClient } from '../../shared/redis';
import { onCleanup } from '../support/cleanup';
import { client, Client } from '../support/http';

const ROOT = path.join(__dirname, '..', '..');

export interface GatewayProcess {
  proc: ChildProcess;
  port: number;
  url: string;
  api: Client;
  logs: any[];
  exited: Promise<number | string | null>;
  kill(signal?: NodeJS.Signals): Promise<number | string | null>;
}

/**
 * Starts a real gateway process (`npm run start:gateway`'s entry point) on a free port and resolves
 * once it logs 'gateway listening'. Killed after the suite if still running.
 */
export async function spawnGateway(env: Record<string, string> = {}): Promise<GatewayProcess> {
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin', 'run.js'), 'services/gateway/main'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: any[] = [];
  let buffer = '';
  let stderr = '';
  const exited = new Promise<number | string | null>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal)));
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          const entry = JSON.parse(line);
          logs.push(entry);
          if (entry.msg === 'gateway listening') resolve(entry.port);
        } catch {
          /* not a log line */
        }
      }
    });
    proc.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
    void exited.then((code) => reject(new Error(`gateway exited (${code}) before listening: ${stderr.slice(-2000)}`)));
  });
  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    return exited;
  };
  onCleanup(() => kill('SIGKILL'));
  const url = `http://127.0.0.1:${port}`;
  return { proc, port, url, api: client(url), logs, exited, kill };
}

/**
 * A queue prefix of this file's own, so workers that other test files left running (they share
 * the run's prefix) cannot take its jobs. Its keys are removed after the suite.
 */
export function privatePrefix(name: string): string {
  const prefix = `${config().QUEUE_PREFIX}_${name}`;
  onCleanup(async () => {
    const redis = createRedis({ blocking: true, name: 'ops-test-cleanup' });
    await unlinkPrefix(redis, prefix);
    await redis.quit();
  });
  return prefix;
}

async function unlinkPrefix(redis: RedisClient, prefix: string) {
  let cursor = '0';
  do {
    const [next, keys] = await (redis as any).scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
}

/** Resolves once `check` returns true, or rejects after `timeoutMs`. */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 30_000, what = 'condition'): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - started;
}
