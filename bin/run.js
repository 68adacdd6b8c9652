#!/usr/bin/env node
// Runs one entry point: the TypeScript source through tsx when it is installed (development),
// otherwise the compiled JavaScript in dist/ (the production image has no dev dependencies).
const path = require('node:path');
const fs = require('node:fs');

const entry = process.argv[2];
if (!entry) {
  console.error('usage: node bin/run.js <entry without extension>, e.g. services/gateway/main');
  process.exit(2);
}
const root = path.join(__dirname, '..');
// BOXOFFICE_RUN=dist runs the compiled build even where tsx is installed (the benchmarks measure
// what the image runs), if that entry point is built.
const built = process.env.BOXOFFICE_RUN === 'dist' && fs.existsSync(path.join(root, 'dist', `${entry}.js`));
let useSource = false;
try {
  require.resolve('tsx/cjs', { paths: [root] });
  useSource = !built && fs.existsSync(path.join(root, `${entry}.ts`));
} catch {
  useSource = false;
}
if (useSource) {
  require(require.resolve('tsx/cjs', { paths: [root] }));
  require(path.join(root, `${entry}.ts`));
} else {
  require(path.join(root, 'dist', `${entry}.js`));
}
