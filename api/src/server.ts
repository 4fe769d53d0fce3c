import { runService } from '@twc/runtime/run-service';
import { buildApp } from './app.js';
import { loadApiConfig } from './config.js';

// The Home Assistant bridge is a service of its own (homeassistant/main.ts): one
// instance per broker, however many API replicas run.
await runService({
  name: 'api',
  loadConfig: loadApiConfig,
  // In-flight requests finish; a stuck close must not keep the container from stopping.
  stopTimeoutMs: 10_000,
  create: async (config, logger) => {
    const app = await buildApp({ config, logger });
    return {
      start: async () => {
        await app.listen({ host: config.host, port: config.port });
      },
      stop: () => app.close(),
    };
  },
});
