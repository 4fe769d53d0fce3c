import { runService } from '@twc/runtime/run-service';
import { simulatedTimeMs } from '../simulator/sim-clock.js';
import { loadCollectorConfig } from './config.js';
import { createCollectorService } from './service.js';

await runService({
  name: 'collector',
  loadConfig: loadCollectorConfig,
  create: (config, logger) => {
    const { simClock } = config;
    return createCollectorService(config, logger, simClock ? { now: () => simulatedTimeMs(simClock, Date.now()) } : {});
  },
});
