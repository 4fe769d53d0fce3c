/**
 * The collector, the comed-poller and the API (and the Home Assistant bridge)
 * as processes of their own,
 * configured through their environment as in production: the settings given,
 * then what connects them to the servers and gives each its folders and port.
 * Each is ready when it says so: the collector and the API by their health
 * endpoints, the comed-poller by its start-up line (its health answers 503
 * until a price is in Redis, which a ComEd outage may delay).
 */
import { join } from 'node:path';
import { httpOk, logHasAfter, nodeProcess, type ProcessHandle } from './processes.js';
import type { Service, StackServers } from './servers.js';

/** Each service's entry point in the sources, run through tsx. */
export const SERVICE_SCRIPTS: Record<Service, string> = {
  collector: 'collector/src/collector/main.ts',
  'comed-poller': 'collector/src/comed-poller/main.ts',
  api: 'api/src/server.ts',
};

export interface ServiceOptions {
  /** The stack's directory: the log goes to <dir>/logs/<service>.log, data to <dir>/<service>/. */
  dir: string;
  servers: StackServers;
  /** Its settings. */
  env: NodeJS.ProcessEnv;
  /** HEALTH_PORT of the collector and the comed-poller, API_PORT of the API. */
  port: number;
  /** The node binary and arguments to run it with; default this node, through tsx, on its sources. */
  command?: { file: string; args: string[] };
}

/** What the stack sets for a service, over its settings. */
export function serviceWiring(service: Service, options: ServiceOptions): NodeJS.ProcessEnv {
  const { dir, servers, port } = options;
  const connections = { ...servers.env, ...servers.tokenEnv(service) };
  switch (service) {
    case 'collector':
      return { ...connections, SPOOL_DIR: join(dir, 'collector', 'spool'), HEALTH_PORT: String(port) };
    case 'comed-poller':
      return {
        ...connections,
        SPOOL_DIR: join(dir, 'comed-poller', 'spool'),
        PRICE_STATE_FILE: join(dir, 'comed-poller', 'price-backfill.json'),
        HEALTH_PORT: String(port),
      };
    case 'api':
      return { ...connections, API_PORT: String(port), REPORTS_DIR: join(dir, 'api', 'reports') };
  }
}

/**
 * A service's handle; `restart()` starts it. The API counts as ready once it
 * reaches the servers (/ready) when the stack started them; the user's own
 * may be down for a while, which the services ride out, so then once it
 * answers at all (/health).
 */
export function serviceProcess(service: Service, options: ServiceOptions): ProcessHandle {
  const logFile = join(options.dir, 'logs', `${service}.log`);
  const origin = `http://127.0.0.1:${options.port}`;
  const ready: Record<Service, (logOffset: number) => Promise<boolean>> = {
    collector: () => httpOk(`${origin}/health`),
    'comed-poller': async (offset) => logHasAfter(logFile, offset, '"msg":"comed-poller started"'),
    api: () => httpOk(`${origin}${options.servers.startedHere ? '/ready' : '/health'}`),
  };
  return nodeProcess({
    name: service,
    logFile,
    ...(options.command ? { command: options.command } : { script: [SERVICE_SCRIPTS[service]] }),
    env: { ...options.env, ...serviceWiring(service, options) },
    ready: ready[service],
    dirs: [join(options.dir, service)],
  });
}

/** The Home Assistant bridge's entry point in the sources. */
export const BRIDGE_SCRIPT = 'api/src/homeassistant/main.ts';

/**
 * The Home Assistant bridge, on the broker of MQTT_URL, reading the raw bucket
 * with the API's read-only token as in docker-compose.yml. Ready once connected
 * to the broker (/health answers 200) when the stack started the broker; the
 * user's own may be away a while, which the bridge rides out, so then once it
 * has started.
 */
export function bridgeProcess(options: ServiceOptions): ProcessHandle {
  const logFile = join(options.dir, 'logs', 'homeassistant-bridge.log');
  const origin = `http://127.0.0.1:${options.port}`;
  return nodeProcess({
    name: 'homeassistant-bridge',
    logFile,
    ...(options.command ? { command: options.command } : { script: [BRIDGE_SCRIPT] }),
    env: {
      ...options.env,
      ...options.servers.env,
      ...options.servers.tokenEnv('api'),
      HEALTH_PORT: String(options.port),
    },
    ready: options.servers.startedHere
      ? () => httpOk(`${origin}/health`)
      : async (offset) => logHasAfter(logFile, offset, '"msg":"homeassistant-bridge started"'),
    dirs: [],
  });
}

/** The planner's entry point in the sources. */
export const PLANNER_SCRIPT = 'collector/src/planner/main.ts';

/**
 * The planner (smart charging), writing the sessions bucket with the
 * collector's token as in docker-compose.yml; its settings and state under
 * <dir>/planner. Ready once its first step ran (/health answers 200).
 */
export function plannerProcess(options: ServiceOptions): ProcessHandle {
  const logFile = join(options.dir, 'logs', 'planner.log');
  return nodeProcess({
    name: 'planner',
    logFile,
    ...(options.command ? { command: options.command } : { script: [PLANNER_SCRIPT] }),
    env: {
      ...options.env,
      ...options.servers.env,
      ...options.servers.tokenEnv('collector'),
      PLANNER_STATE_DIR: join(options.dir, 'planner', 'state'),
      SPOOL_DIR: join(options.dir, 'planner', 'spool'),
      TESLA_TOKEN_FILE: join(options.dir, 'planner', 'tesla-tokens.json'),
      HEALTH_PORT: String(options.port),
    },
    ready: () => httpOk(`http://127.0.0.1:${options.port}/health`),
    dirs: [join(options.dir, 'planner')],
  });
}
