import { runService } from '@twc/runtime/run-service';
import { simulatedTimeMs } from '../simulator/sim-clock.js';
import { loadPricePollerConfig } from './config.js';
import { createPricePollerService } from './service.js';

await runService({
  name: 'comed-poller',
  loadConfig: loadPricePollerConfig,
  create: (config, logger) => {
    const { simClock } = config;
    return createPricePollerService(
      config,
      logger,
      simClock ? { now: () => simulatedTimeMs(simClock, Date.now()) } : {},
    );
  },
});
