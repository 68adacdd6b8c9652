import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { CONFIG_VARIABLES } from '../../shared/config';

const ROOT = path.join(__dirname, '..', '..');
const readme = () => readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The body of one `## ` section. */
function section(title: string): string {
  const text = readme();
  const start = text.indexOf(`\n## ${title}\n`);
  expect(start, `README has a "## ${title}" section`).to.be.greaterThan(-1);
  const next = text.indexOf('\n## ', start + 1);
  return text.slice(start, next === -1 ? undefined : next);
}

describe('ops: README', () => {
  it('when the configuration table is read, then every variable the config reads has a row with a default and a meaning', () => {
    const rows = new Map(section('Configuration').split('\n').filter((l) => l.startsWith('| `')).map((l) => {
      const cells = l.split('|').slice(1, -1).map((c) => c.trim());
      return [cells[0].replace(/`/g, ''), cells.slice(1)] as const;
    }));
    const missing = CONFIG_VARIABLES.filter((v) => !rows.has(v));
    expect(missing, 'variables without a row').to.deep.equal([]);
    expect([...rows.keys()].filter((v) => !CONFIG_VARIABLES.includes(v)), 'rows for variables the config does not read').to.deep.equal([]);
    for (const [name, [def, meaning]] of rows) {
      expect(def, `${name} default`).to.not.equal('');
      expect(meaning, `${name} meaning`).to.not.equal('');
    }
  });

  it('when a newcomer reads it, then it has the quick start, tests, architecture diagram, scaling and operations sections', () => {
    expect(section('Quick start')).to.include('docker compose up --build').and.include('npm ci').and.include('npm start');
    expect(section('Tests')).to.include('npm test');
    expect(section('Architecture')).to.include('```mermaid');
    expect(section('Scaling')).to.include('--scale worker=4').and.include('--scale gateway=2');
    const ops = section('Operations');
    for (const where of ['/docs', '/openapi.json', '/metrics', 'METRICS_PORT', '/admin/queues', '/healthz', '/readyz', 'appendfsync']) {
      expect(ops, where).to.include(where);
    }
  });

  it('when it names npm scripts, then each exists in package.json', () => {
    const scripts = Object.keys(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts);
    const named = [...readme().matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]);
    expect(named.length).to.be.greaterThan(0);
    expect(named.filter((s) => !scripts.includes(s))).to.deep.equal([]);
  });
});
