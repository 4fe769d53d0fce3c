import { runService } from '../run-service.js';
import { createCollectorService } from './collector-service.js';
import { loadCollectorConfig } from './config.js';

await runService({ name: 'collector', loadConfig: loadCollectorConfig, create: createCollectorService });
