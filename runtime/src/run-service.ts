import { createLogger, type Logger } from './logger.js';

export interface Runnable {
  start(): void | Promise<void>;
  stop(): Promise<void>;
}

/**
 * The process shell of a service: parse its configuration (exit 2 with the
 * problems named when it is invalid), start it, and on SIGTERM or SIGINT stop
 * it so buffered data is flushed before the process exits.
 */
export async function runService<Config extends { logLevel: string }>(options: {
  name: string;
  loadConfig: (env: NodeJS.ProcessEnv) => Config;
  create: (config: Config, logger: Logger) => Runnable;
}): Promise<void> {
  let config: Config;
  try {
    config = options.loadConfig(process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger({ name: options.name, level: config.logLevel });
  const service = options.create(config, logger);

  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      service.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
  try {
    await service.start();
  } catch (error) {
    logger.fatal({ err: error }, 'start-up failed');
    process.exit(1);
  }
}
