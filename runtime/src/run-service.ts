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
  create: (config: Config, logger: Logger) => Runnable | Promise<Runnable>;
  /** A stop that takes longer than this exits 1 anyway, so a container is never kept from stopping. */
  stopTimeoutMs?: number;
}): Promise<void> {
  let config: Config;
  try {
    config = options.loadConfig(process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger({ name: options.name, level: config.logLevel });
  let service: Runnable;
  try {
    service = await options.create(config, logger);
  } catch (error) {
    logger.fatal({ err: error }, 'start-up failed');
    process.exit(1);
  }

  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      if (options.stopTimeoutMs !== undefined) setTimeout(() => process.exit(1), options.stopTimeoutMs).unref();
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
