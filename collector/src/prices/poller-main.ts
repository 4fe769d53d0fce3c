import { runService } from '../run-service.js';
import { simulatedTimeMs } from '../simulator/sim-clock.js';
import { loadPricePollerConfig } from './poller-config.js';
import { createPricePollerService } from './price-poller-service.js';

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
