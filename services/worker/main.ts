import { ConfigError } from '../../shared/config';
import { startWorker } from './worker';

startWorker()
  .then((w) => {
    const stop = () => {
      w.close().then(() => process.exit(0), () => process.exit(1));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  })
  .catch((err) => {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  });
