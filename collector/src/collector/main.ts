import { createLogger } from '../logger.js';
import { createCollectorService } from './collector-service.js';
import { loadCollectorConfig } from './config.js';

let config: ReturnType<typeof loadCollectorConfig>;
try {
  config = loadCollectorConfig(process.env);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}
const logger = createLogger({ name: 'collector', level: config.logLevel });
const service = createCollectorService(config, logger);

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}

await service.start();
