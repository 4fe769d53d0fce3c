import { runService } from '../run-service.js';
import { loadPricePollerConfig } from './poller-config.js';
import { createPricePollerService } from './price-poller-service.js';

await runService({ name: 'comed-poller', loadConfig: loadPricePollerConfig, create: createPricePollerService });
