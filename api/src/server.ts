import { createLogger } from '@twc/runtime/logger';
import { buildApp } from './app.js';
import { type ApiConfig, loadApiConfig } from './config.js';

// The Home Assistant bridge is a service of its own (homeassistant/main.ts): one
// instance per broker, however many API replicas run.
let config: ApiConfig;
try {
  config = loadApiConfig(process.env);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}
const logger = createLogger({ name: 'api', level: config.logLevel });
const app = await buildApp({ config, logger });

let closing = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'closing');
    // In-flight requests finish; a stuck close must not keep the container from stopping.
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'close failed');
        process.exit(1);
      },
    );
  });
}

await app.listen({ host: config.host, port: config.port });
