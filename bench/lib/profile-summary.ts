import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  file: string;
  seconds: number;
  /** Self time by function, largest first. */
  top: { frame: string; ms: number; pct: number }[];
  /** Self time by area: a node_modules package, a project directory, node internals, GC, idle. */
  areas: { area: string; ms: number; pct: number }[];
}

/** Which package or project directory a frame belongs to. */
function areaOf(url: string, fn: string): string {
  if (fn === '(garbage collector)') return '(gc)';
  if (fn === '(idle)' || fn === '(program)') return fn;
  if (!url) return '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const project = /\/(services\/[^/]+\/[^/]+|shared\/[^/]+|bench)\b/.exec(url);
  return project ? project[1] : path.basename(url);
}

/** Self time per frame and per area of a V8 .cpuprofile (as written by `node --cpu-prof`). */
export function summarizeProfile(file: string, topN = 25): ProfileSummary {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
  const frames = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const short = url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(services|shared|bench)\//, '$1/');
    const frame = `${functionName || '(anonymous)'} ${short ? `${short}:${lineNumber + 1}` : ''}`.trim();
    frames.set(frame, (frames.get(frame) ?? 0) + us);
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    total += us;
  }
  const rank = <K extends string>(m: Map<string, number>, key: K, n: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, us]) => ({ [key]: k, ms: Math.round(us / 1000), pct: Math.round((us / total) * 1000) / 10 }) as { [P in K]: string } & { ms: number; pct: number });
  return { file: path.basename(file), seconds: Math.round((prof.endTime - prof.startTime) / 1e5) / 10, top: rank(frames, 'frame', topN), areas: rank(areas, 'area', 15) };
}

/** Summaries of every profile in a directory. */
export function summarizeProfiles(dir: string, topN = 25): ProfileSummary[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort().map((f) => summarizeProfile(path.join(dir, f), topN));
}
