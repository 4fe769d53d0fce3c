import { createLogger } from '@twc/runtime/logger';
import { buildApp } from './app.js';
import { type ApiConfig, loadApiConfig } from './config.js';
import { type HomeAssistantConfig, loadHomeAssistantConfig } from './homeassistant/config.js';
import { createHomeAssistantBridge } from './homeassistant/home-assistant-bridge.js';

let config: ApiConfig;
let haConfig: HomeAssistantConfig | undefined;
try {
  config = loadApiConfig(process.env);
  // The bridge is on only when an MQTT broker is configured (MQTT_URL).
  haConfig = loadHomeAssistantConfig(process.env);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}
const logger = createLogger({ name: 'api', level: config.logLevel });
const app = await buildApp({ config, logger });
const bridge = haConfig ? createHomeAssistantBridge({ config: haConfig, logger }) : undefined;

let closing = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'closing');
    // In-flight requests finish; a stuck close must not keep the container from stopping.
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    Promise.all([app.close(), bridge?.stop()]).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'close failed');
        process.exit(1);
      },
    );
  });
}

await app.listen({ host: config.host, port: config.port });
await bridge?.start();
