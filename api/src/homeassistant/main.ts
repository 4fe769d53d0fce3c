import { runService } from '@twc/runtime/run-service';
import { loadHomeAssistantConfig } from './config.js';
import { createHomeAssistantBridgeService } from './service.js';

await runService({
  name: 'homeassistant-bridge',
  loadConfig: loadHomeAssistantConfig,
  create: (config, logger) => createHomeAssistantBridgeService(config, logger),
});
