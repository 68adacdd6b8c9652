import v8 from 'node:v8';
import { ConfigError } from '../../shared/config';
import { startGateway } from './gateway';

// Old-generation heap may grow to twice what survived the last full collection before the next
// one (V8 otherwise lets a fast-allocating process grow it up to four times). Thousands of
// awaiting callers are long-lived and everything else is short-lived: with V8's default, 10,000
// waiters left ~100 MB of dead objects uncollected at the peak (npm run bench:launch; 50 MB less
// RSS with this, at no measurable CPU cost per request).
v8.setFlagsFromString('--heap-growing-percent=100');

startGateway()
  .then((gw) => {
    const stop = () => {
      gw.close().then(() => process.exit(0), () => process.exit(1));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  })
  .catch((err) => {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  });
