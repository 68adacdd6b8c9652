#!/usr/bin/env node
// Container health check for both roles: the gateway answers GET /healthz on PORT,
// a worker on METRICS_PORT. Exits 0 as soon as one of them answers 200.
const http = require('node:http');

const probe = (port) => new Promise((resolve) => {
  const req = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: 2000 }, (res) => {
    res.resume();
    resolve(res.statusCode === 200);
  });
  req.on('timeout', () => req.destroy());
  req.on('error', () => resolve(false));
});

(async () => {
  for (const port of [process.env.PORT || 3000, process.env.METRICS_PORT || 9464]) {
    if (await probe(Number(port))) process.exit(0);
  }
  process.exit(1);
})();
