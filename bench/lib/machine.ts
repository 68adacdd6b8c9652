import { execFileSync } from 'node:child_process';
import os from 'node:os';

export interface Machine {
  date: string;
  cpu: string;
  cores: number;
  ramGb: number;
  node: string;
  postgres: string;
  redis: string;
  /** 1-minute load average when the run started (other work on the machine). */
  loadAvg: number;
}

function tryRun(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

/** What the figures were measured on. */
export function describeMachine(pgVersion: string, redisVersion: string): Machine {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cpu: cpus[0]?.model?.trim() || tryRun('uname', ['-m']),
    cores: cpus.length,
    ramGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    postgres: pgVersion,
    redis: redisVersion,
    loadAvg: Math.round(os.loadavg()[0] * 100) / 100,
  };
}
