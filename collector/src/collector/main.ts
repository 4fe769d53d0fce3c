import { runService } from '../run-service.js';
import { simulatedTimeMs } from '../simulator/sim-clock.js';
import { createCollectorService } from './collector-service.js';
import { loadCollectorConfig } from './config.js';

await runService({
  name: 'collector',
  loadConfig: loadCollectorConfig,
  create: (config, logger) => {
    const { simClock } = config;
    return createCollectorService(config, logger, simClock ? { now: () => simulatedTimeMs(simClock, Date.now()) } : {});
  },
});
