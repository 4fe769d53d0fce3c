import { createInfluxWriter } from '@twc/runtime/influx-writer';
import { runService } from '@twc/runtime/run-service';
import { createSpool } from '@twc/runtime/spool';
import { loadTariff } from '@twc/runtime/tariff-file';
import { simulatedTimeMs } from '../simulator/sim-clock.js';
import { loadPlannerConfig } from './config.js';
import { createNoneController } from './controllers/advice-only.js';
import { createChargeControllers } from './controllers/create-controllers.js';
import { createPlanStore } from './plan-store.js';
import { createPlannerService } from './service.js';

await runService({
  name: 'planner',
  loadConfig: loadPlannerConfig,
  // Stopping starts the cars the planner stopped: give the car services time to answer.
  stopTimeoutMs: 25_000,
  create: async (config, logger) => {
    const { simClock } = config;
    const now = simClock ? () => simulatedTimeMs(simClock, Date.now()) : Date.now;
    // A bad tariff fails the start with the setting named (TariffError).
    const { tariff } = await loadTariff(config.tariff);
    const controllers = createChargeControllers(
      config.carControl,
      config.carControl.entries.map((entry) => entry.charger),
      { now },
    );
    return createPlannerService({
      config,
      tariff,
      store: createPlanStore({ ...config.redis, stateDir: config.stateDir, logger }),
      writer: createInfluxWriter({
        ...config.influx,
        spool: createSpool({ ...config.spool, logger: logger.child({ module: 'spool' }) }),
        logger: logger.child({ module: 'influx-writer' }),
      }),
      controllerFor: (name) => controllers.get(name) ?? createNoneController(now),
      logger,
      now,
    });
  },
});
