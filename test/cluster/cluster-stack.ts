import { spawn } from 'node:child_process';
import path from 'node:path';
import { onCleanup } from '../support/cleanup';
import { client, Client } from '../support/http';
import { spawnWorkers, WorkerProcess } from '../support/workers';
import { LocalRedis, startLocalCluster } from './local-redis';

const ROOT = path.join(__dirname, '..', '..');

export interface GatewayProcess {
  url: string;
  api: Client;
  kill(): Promise<unknown>;
}

/** Starts the gateway entry point as a child process (its own config from `env`) on a free port. */
export async function spawnGateway(env: Record<string, string>): Promise<GatewayProcess> {
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin', 'run.js'), 'services/gateway/main'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  const kill = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    return exited;
  };
  onCleanup(kill);
  let buffer = '';
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        if (!line.includes('gateway listening')) continue;
        try {
          resolve(JSON.parse(line).port);
        } catch {
          /* not a log line */
        }
      }
    });
    void exited.then((code) => reject(new Error(`gateway exited (${code}) before listening: ${stderr.slice(-2000)}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return { url, api: client(url), kill };
}

export interface ClusterStack {
  cluster: LocalRedis;
  gateway: GatewayProcess;
  workers: WorkerProcess[];
  /** Environment the services run with (REDIS_URL names the cluster). */
  env: Record<string, string>;
  /** Stops the processes, then the cluster. */
  stop(): Promise<void>;
}

/**
 * A private 3-master Redis Cluster, a gateway process and `workers` worker processes, all
 * pointed at the cluster with REDIS_URL=redis-cluster://…, sharing the test database and key prefix.
 */
export async function startClusterStack(workers: number, extraEnv: Record<string, string> = {}): Promise<ClusterStack> {
  const cluster = await startLocalCluster(3);
  onCleanup(() => cluster.stop());
  const env = { REDIS_URL: cluster.url, ...extraEnv };
  const [gateway, procs] = await Promise.all([spawnGateway(env), spawnWorkers(workers, env)]);
  const stop = async () => {
    await Promise.all([gateway.kill(), ...procs.map((w) => w.kill('SIGKILL'))]);
    await cluster.stop();
  };
  return { cluster, gateway, workers: procs, env, stop };
}
