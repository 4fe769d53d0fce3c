import { type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

export interface LoggerSettings {
  level?: string;
  /** Service name in every line, e.g. `collector`, `comed-poller`. */
  name: string;
}

/**
 * The root logger of a process: JSON lines on stderr (stdout belongs to the
 * data that commands print), human-readable only when stderr is a terminal.
 * Modules take a child: `logger.child({ module: 'twc-client', charger })`.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    name: settings.name,
    level: settings.level ?? 'info',
    redact: {
      paths: [
        'token',
        '*.token',
        'password',
        '*.password',
        'authorization',
        '*.authorization',
        'headers.authorization',
        '*.headers.authorization',
        'headers["x-api-key"]',
        '*.headers["x-api-key"]',
      ],
      censor: '[redacted]',
    },
  };
  if (process.stderr.isTTY) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { destination: 2, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  return pino(options, pino.destination({ fd: 2, sync: false }));
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
