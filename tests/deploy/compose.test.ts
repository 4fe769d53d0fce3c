import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { API_SETTINGS } from '@twc/api/config';
import { HOMEASSISTANT_SETTINGS } from '@twc/api/homeassistant/config';
import { COLLECTOR_SETTINGS, loadCollectorConfig } from '@twc/collector/collector/config';
import { loadPricePollerConfig, POLLER_SETTINGS } from '@twc/collector/comed-poller/config';
import { loadPlannerConfig, PLANNER_SETTINGS } from '@twc/collector/planner/config';
import { parseTariffEnv, type TariffSettings } from '@twc/core/prices/tariff';
import { INFLUXDB_VERSION } from '@twc/testenv';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  type ComposeConfig,
  type ComposeService,
  composeConfig,
  makeInstallDir,
  memoryBytes,
  namedVolumeMounts,
  publishedPorts,
  REPO_ROOT,
  run,
  runSetup,
  serviceEnv,
} from './stack.js';

const ALL_PROFILES = ['demo', 'host-metrics'];
/** A 4 GB Raspberry Pi keeps at least 1 GiB for the kernel, page cache and Docker itself. */
const PI_STACK_BUDGET_BYTES = 3 * 1024 ** 3;

/** The service's environment with each NAME_FILE pointing at a readable file, as in the containers. */
function withSecretFiles(env: Record<string, string>): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'twc-secrets-'));
  const resolved = { ...env };
  for (const [key, value] of Object.entries(env)) {
    if (key.endsWith('_FILE') && value.startsWith('/twc-tokens/')) {
      const file = join(dir, value.slice('/twc-tokens/'.length));
      writeFileSync(file, `token-from-${value}\n`);
      resolved[key] = file;
    }
  }
  return resolved;
}

type Loader = (env: NodeJS.ProcessEnv) => unknown;

/** Configs carry the TARIFF_* strings as given; compare the tariff they amount to. */
function effectiveTariffs(value: unknown): unknown {
  if (Array.isArray(value) || value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      key === 'tariff' && inner !== null && typeof inner === 'object' && 'TARIFF_FILE' in inner
        ? parseTariffEnv(inner as TariffSettings)
        : effectiveTariffs(inner),
    ]),
  );
}

/** The services of the api image and the config loader each parses its environment with. */
const API_IMAGE_SERVICES = [
  { service: 'api', schema: 'api/src/config.ts', exportName: 'loadApiConfig' },
  { service: 'homeassistant-bridge', schema: 'api/src/homeassistant/config.ts', exportName: 'loadHomeAssistantConfig' },
] as const;

/** The api image's settings loaders; a file that moved fails the checks that use it, never skips them. */
async function apiLoaders(): Promise<{ service: string; name: string; load: Loader; schema: string }[]> {
  const loaders: { service: string; name: string; load: Loader; schema: string }[] = [];
  for (const { service, schema, exportName } of API_IMAGE_SERVICES) {
    const path = join(REPO_ROOT, schema);
    if (!existsSync(path)) {
      throw new Error(
        `${schema} is missing: it should export ${exportName}, which these checks run (moved? name its new place here)`,
      );
    }
    const module = (await import(pathToFileURL(path).href)) as Record<string, Loader>;
    const load = module[exportName];
    if (typeof load !== 'function') throw new Error(`${schema} no longer exports ${exportName}`);
    loaders.push({ service, name: exportName, load, schema });
  }
  return loaders;
}

describe('docker-compose.yml', () => {
  let installDir: string;
  let env: Map<string, string>;
  let config: ComposeConfig;
  let withProfiles: ComposeConfig;

  beforeAll(async () => {
    installDir = makeInstallDir('compose');
    const setup = await runSetup(installDir, [
      '--non-interactive',
      '--no-start',
      '--chargers',
      'garage=192.168.1.50,barn=192.168.1.51:8080',
      '--timezone',
      'America/Denver',
      '--delivery-cents',
      '8.1',
    ]);
    expect(setup.code, setup.stderr).toBe(0);
    env = new Map(
      readFileSync(join(installDir, '.env'), 'utf8')
        .split('\n')
        .flatMap((line) => {
          const match = /^([A-Z_0-9]+)=(.*)$/.exec(line);
          return match ? [[match[1] as string, match[2] as string] as const] : [];
        }),
    );
    config = await composeConfig(installDir);
    withProfiles = await composeConfig(installDir, ALL_PROFILES);
  });

  it('runs InfluxDB at the version the tests run', () => {
    expect(config.services.influxdb?.image).toBe(`influxdb:${INFLUXDB_VERSION.replace(/^v/, '')}`);
  });

  it('pins every image to a version', () => {
    for (const [name, service] of Object.entries(withProfiles.services)) {
      expect(service.image, name).toMatch(/^[\w./-]+:\d+\.\d+(\.\d+)?[\w.-]*$|^twc-dashboard\/(collector|api):/);
    }
  });

  it('gives every service, in every profile, a healthcheck, a restart policy and a memory limit', () => {
    const names = Object.keys(withProfiles.services).sort();
    expect(names).toEqual(
      [
        'api',
        'collector',
        'comed-poller',
        'grafana',
        'homeassistant-bridge',
        'influxdb',
        'mosquitto',
        'planner',
        'redis',
        'simulator',
        'telegraf',
      ].sort(),
    );
    for (const [name, service] of Object.entries(withProfiles.services)) {
      expect(service.healthcheck?.disable, name).not.toBe(true);
      expect(service.healthcheck?.test?.length ?? 0, name).toBeGreaterThan(1);
      expect(service.restart, name).toBe('unless-stopped');
      expect(memoryBytes(service.mem_limit), name).toBeGreaterThan(0);
    }
  });

  it('fits the whole stack, optional profiles included, in the Raspberry Pi budget of docs/SETUP.md', () => {
    const total = Object.values(withProfiles.services).reduce((sum, s) => sum + memoryBytes(s.mem_limit), 0);
    expect(total).toBeLessThanOrEqual(PI_STACK_BUDGET_BYTES);
    const setupDoc = readFileSync(join(REPO_ROOT, 'docs/SETUP.md'), 'utf8');
    for (const [name, service] of Object.entries(withProfiles.services)) {
      const mib = memoryBytes(service.mem_limit) / 1024 ** 2;
      expect(setupDoc, `docs/SETUP.md states ${name}'s limit`).toMatch(new RegExp(`\\| ${name} +\\| ${mib} MiB`));
    }
  });

  it("runs Tesla's vehicle-command proxy from its own file: pinned, internal only, keys mounted read-only, in the Pi budget", async () => {
    // Apart from docker-compose.yml: Tesla's image is distroless (no shell, no HTTP client), so it
    // cannot have the healthcheck every service there has; what it can be held to is checked here.
    copyFileSync(join(REPO_ROOT, 'docker-compose.tesla-proxy.yml'), join(installDir, 'docker-compose.tesla-proxy.yml'));
    const files = ['-f', 'docker-compose.yml', '-f', 'docker-compose.tesla-proxy.yml'];
    const profiles = ALL_PROFILES.flatMap((profile) => ['--profile', profile]);
    const result = await run('docker-compose', [...files, ...profiles, 'config'], {
      cwd: installDir,
      env: { PATH: process.env.PATH, HOME: installDir },
    });
    expect(result.code, result.stderr).toBe(0);
    const withProxy = parseYaml(result.stdout) as ComposeConfig;
    expect(Object.keys(withProfiles.services)).not.toContain('tesla-proxy');
    const proxy = withProxy.services['tesla-proxy'] as ComposeService;
    expect(proxy.image).toMatch(/^tesla\/vehicle-command:\d+\.\d+\.\d+$/);
    expect(proxy.restart).toBe('unless-stopped');
    expect(publishedPorts(proxy)).toEqual([]);
    const networks = Array.isArray(proxy.networks) ? proxy.networks : Object.keys(proxy.networks ?? {});
    expect(networks).toEqual(['twc']);
    expect(serviceEnv(proxy)).toMatchObject({
      TESLA_HTTP_PROXY_TLS_CERT: '/config/tls-cert.pem',
      TESLA_HTTP_PROXY_TLS_KEY: '/config/tls-key.pem',
      TESLA_KEY_FILE: '/config/fleet-key.pem',
      TESLA_HTTP_PROXY_HOST: '0.0.0.0',
      TESLA_HTTP_PROXY_PORT: '4443',
    });
    const mounts = (proxy.volumes ?? []).map((mount) =>
      typeof mount === 'string'
        ? mount
        : `${mount.target}:${(mount as { read_only?: boolean }).read_only ? 'ro' : 'rw'}`,
    );
    expect(mounts.some((mount) => /\/config:ro$/.test(mount))).toBe(true);
    // The planner is pointed at it and trusts its certificate, mounted read-only.
    const planner = withProxy.services.planner as ComposeService;
    expect(serviceEnv(planner)).toMatchObject({
      TESLA_PROXY_URL: 'https://tesla-proxy:4443',
      TESLA_PROXY_CA_FILE: '/etc/twc-tesla-proxy/tls-cert.pem',
    });
    const plannerMounts = (planner.volumes ?? []).map((mount) =>
      typeof mount === 'string'
        ? mount
        : `${mount.target}:${(mount as { read_only?: boolean }).read_only ? 'ro' : 'rw'}`,
    );
    expect(
      plannerMounts.some((mount) => mount.endsWith('/tesla-proxy/tls-cert.pem:/etc/twc-tesla-proxy/tls-cert.pem:ro')),
    ).toBe(true);
    const total = Object.values(withProxy.services).reduce((sum, s) => sum + memoryBytes(s.mem_limit), 0);
    expect(total).toBeLessThanOrEqual(PI_STACK_BUDGET_BYTES);
    const mib = memoryBytes(proxy.mem_limit) / 1024 ** 2;
    expect(readFileSync(join(REPO_ROOT, 'docs/SETUP.md'), 'utf8')).toMatch(
      new RegExp(`\\| tesla-proxy +\\| ${mib} MiB`),
    );
  });

  it('waits for each dependency to be healthy', () => {
    for (const [name, service] of Object.entries(withProfiles.services)) {
      const dependsOn = service.depends_on ?? {};
      expect(Array.isArray(dependsOn), name).toBe(false);
      for (const [dependency, condition] of Object.entries(dependsOn)) {
        expect(condition.condition, `${name} -> ${dependency}`).toBe('service_healthy');
      }
    }
    expect(Object.keys(config.services.collector?.depends_on ?? {}).sort()).toEqual(['influxdb', 'redis']);
    // The API no longer talks to the broker; the bridge does.
    expect(Object.keys(config.services.api?.depends_on ?? {}).sort()).toEqual(['influxdb', 'redis']);
    expect(Object.keys(config.services['homeassistant-bridge']?.depends_on ?? {}).sort()).toEqual([
      'influxdb',
      'mosquitto',
      'redis',
    ]);
  });

  it('publishes only Grafana on 3000 and the API on 8000 by default', () => {
    const published = Object.entries(withProfiles.services).flatMap(([name, service]) =>
      publishedPorts(service).map((port) => `${name}:${port}`),
    );
    expect(published.sort()).toEqual(['api:8000', 'grafana:3000']);
  });

  it('publishes MQTT 1883 once setup --expose-mqtt wrote the override file', async () => {
    const dir = makeInstallDir('compose-mqtt');
    const setup = await runSetup(dir, ['--non-interactive', '--no-start', '--chargers', 'g=10.0.0.5', '--expose-mqtt']);
    expect(setup.code, setup.stderr).toBe(0);
    const exposed = await composeConfig(dir);
    expect(publishedPorts(exposed.services.mosquitto as ComposeService)).toEqual([1883]);
    expect(publishedPorts(exposed.services.api as ComposeService)).toEqual([8000]);
  });

  it('keeps every service on the one network', () => {
    expect(Object.keys(withProfiles.networks ?? {})).toEqual(['twc']);
    for (const [name, service] of Object.entries(withProfiles.services)) {
      const networks = Array.isArray(service.networks) ? service.networks : Object.keys(service.networks ?? {});
      expect(networks, name).toEqual(['twc']);
    }
  });

  it('keeps InfluxDB data and configuration, Grafana, Redis, Mosquitto, the spool and the poller state in named volumes', () => {
    const mounts = (name: string) => namedVolumeMounts(config, config.services[name] as ComposeService);
    expect(mounts('influxdb').get('/var/lib/influxdb2')).toBe('influxdb-data');
    expect(mounts('influxdb').get('/etc/influxdb2')).toBe('influxdb-config');
    expect(mounts('grafana').get('/var/lib/grafana')).toBe('grafana-data');
    expect(mounts('redis').get('/data')).toBe('redis-data');
    expect(mounts('mosquitto').get('/mosquitto/data')).toBe('mosquitto-data');
    expect(mounts('mosquitto').get('/mosquitto/auth')).toBe('mosquitto-auth');
    expect(mounts('collector').get('/var/lib/twc')).toBe('collector-spool');
    expect(mounts('comed-poller').get('/var/lib/twc')).toBe('poller-data');
    expect(mounts('api').get('/var/lib/twc')).toBe('api-data');
    // The user's smart-charging settings, the Tesla tokens Tesla rotates on every refresh.
    expect(mounts('planner').get('/var/lib/twc')).toBe('planner-data');
  });

  it('hands the token files init.sh writes to the services that read them, read-only', () => {
    const influx = serviceEnv(config.services.influxdb as ComposeService);
    const tokensDir = influx.INFLUXDB_TOKENS_DIR as string;
    expect(namedVolumeMounts(config, config.services.influxdb as ComposeService).get(tokensDir)).toBe(
      'influxdb-tokens',
    );
    const tokenMount = (service: ComposeService) =>
      String((service.volumes ?? []).find((volume) => String(volume).startsWith('influxdb-tokens:')));
    // The token files are the ones init.sh writes: one per `ensure_token <consumer>`.
    const initScript = readFileSync(join(REPO_ROOT, 'influxdb/scripts/init.sh'), 'utf8');
    const consumers = [...initScript.matchAll(/^ensure_token (\S+)/gm)].map((match) => match[1] as string);
    expect(consumers.sort()).toEqual(['api', 'collector', 'comed-poller', 'grafana']);
    for (const [name, consumer] of [
      ['collector', 'collector'],
      ['comed-poller', 'comed-poller'],
      ['api', 'api'],
      // The bridge reads the raw bucket: the api's read-only token serves.
      ['homeassistant-bridge', 'api'],
      // The planner writes the sessions bucket, as the collector does.
      ['planner', 'collector'],
    ] as const) {
      const service = config.services[name] as ComposeService;
      expect(serviceEnv(service).INFLUXDB_TOKEN_FILE, name).toBe(`/twc-tokens/${consumer}.token`);
      expect(tokenMount(service), name).toBe('influxdb-tokens:/twc-tokens:ro');
    }
    // Grafana's data source reads GRAFANA_INFLUXDB_TOKEN from the environment.
    const grafana = config.services.grafana as ComposeService;
    expect(tokenMount(grafana)).toBe('influxdb-tokens:/twc-tokens:ro');
    expect(grafana.entrypoint?.join(' ')).toContain('GRAFANA_INFLUXDB_TOKEN="$$(cat /twc-tokens/grafana.token)"');
    const datasource = readFileSync(join(REPO_ROOT, 'grafana/provisioning/datasources/influxdb.yaml'), 'utf8');
    expect(datasource).toContain(`\${GRAFANA_INFLUXDB_TOKEN}`);
    // The services start once InfluxDB's healthcheck sees every token file.
    const check = JSON.stringify(config.services.influxdb?.healthcheck?.test);
    for (const consumer of consumers) expect(check).toMatch(new RegExp(`\\b${consumer}\\b`));
    expect(check).toContain(tokensDir);
  });

  it('writes the MQTT password file where mosquitto.conf reads it, and mounts Grafana where its files expect', () => {
    const conf = readFileSync(join(REPO_ROOT, 'mosquitto/mosquitto.conf'), 'utf8');
    const passwordFile = /^password_file\s+(\S+)$/m.exec(conf)?.[1];
    expect(passwordFile).toBeDefined();
    expect(config.services.mosquitto?.entrypoint?.join(' ')).toContain(`-b ${passwordFile} `);
    const grafanaMounts = (config.services.grafana?.volumes ?? []).map(String);
    const provider = readFileSync(join(REPO_ROOT, 'grafana/provisioning/dashboards/twc.yaml'), 'utf8');
    const dashboardsPath = /^\s+path:\s+(\S+)$/m.exec(provider)?.[1];
    expect(grafanaMounts.some((mount) => mount.endsWith(`/grafana/dashboards:${dashboardsPath}:ro`))).toBe(true);
    const source = serviceEnv(config.services.grafana as ComposeService).TWC_GRAFANA_SRC;
    expect(grafanaMounts.some((mount) => mount.endsWith(`/grafana:${source}:ro`))).toBe(true);
    expect(config.services.grafana?.entrypoint?.join(' ')).toContain(`${source}/entrypoint.sh`);
  });

  it('gives the collector an environment its config accepts: the chargers, time zone and tariff from .env', () => {
    const collector = serviceEnv(config.services.collector as ComposeService);
    const loaded = loadCollectorConfig(withSecretFiles(collector));
    expect(loaded.chargers).toEqual([
      { name: 'garage', host: '192.168.1.50' },
      { name: 'barn', host: '192.168.1.51:8080' },
    ]);
    expect(loaded.pricing.timeZone).toBe('America/Denver');
    expect(loaded.pricing.tariff.TARIFF_DELIVERY_CENTS_KWH).toBe('8.1');
    expect(loaded.influx.url).toBe('http://influxdb:8086');
    expect(loaded.influx.token).toBe('token-from-/twc-tokens/collector.token');
    expect(loaded.redis.url).toBe('redis://redis:6379');
    // The spool must live in the volume, and the healthcheck must ask the port the service listens on.
    expect(loaded.spool.dir.startsWith('/var/lib/twc/')).toBe(true);
    expect(JSON.stringify(config.services.collector?.healthcheck?.test)).toContain('HEALTH_PORT || 8081');
    expect(loaded.healthPort).toBe(8081);
  });

  it('gives the comed-poller an environment its config accepts, its state in the volume', () => {
    const poller = serviceEnv(config.services['comed-poller'] as ComposeService);
    const loaded = loadPricePollerConfig(withSecretFiles(poller));
    expect(loaded.influx.token).toBe('token-from-/twc-tokens/comed-poller.token');
    expect(loaded.progressFile.startsWith('/var/lib/twc/')).toBe(true);
    expect(loaded.spool.dir.startsWith('/var/lib/twc/')).toBe(true);
    expect(loaded.comed.baseUrl).toBe('https://hourlypricing.comed.com/api');
  });

  it('gives the api an environment its config accepts', async () => {
    const api = withSecretFiles(serviceEnv(config.services.api as ComposeService));
    const loaders = await apiLoaders();
    const loadApi = loaders.find((loader) => loader.name === 'loadApiConfig')?.load;
    expect(loadApi).toBeDefined();
    expect(() => loadApi?.(api)).not.toThrow();
    const loaded = (loadApi?.(api) ?? {}) as { port?: number; timeZone?: string };
    expect(loaded.port).toBe(8000);
    expect(loaded.timeZone).toBe('America/Denver');
    expect(JSON.stringify(config.services.api?.healthcheck?.test)).toContain('API_PORT || 8000');
  });

  it('runs the Home Assistant bridge from the api image, on the stack broker, its healthcheck on its health port', async () => {
    const service = config.services['homeassistant-bridge'] as ComposeService;
    expect(service.image).toBe(config.services.api?.image);
    expect(service.build).toEqual(config.services.api?.build);
    expect(service.command).toEqual(['node', 'dist/homeassistant/main.js']);
    const env = withSecretFiles(serviceEnv(service));
    const load = (await apiLoaders()).find((loader) => loader.name === 'loadHomeAssistantConfig')?.load;
    const loaded = load?.(env) as {
      mqtt: { url: string; username: string; password: string };
      influx: { url: string; token: string; rawBucket: string };
      redis: { url: string };
      tariff: { TARIFF_DELIVERY_CENTS_KWH?: string };
      healthPort: number;
    };
    expect(loaded.mqtt).toMatchObject({
      url: 'mqtt://mosquitto:1883',
      username: 'twc',
      password: env.MQTT_PASSWORD,
    });
    // The broker checks the same user and password, generated by setup.
    expect(env.MQTT_PASSWORD).toBe(serviceEnv(config.services.mosquitto as ComposeService).MQTT_PASSWORD);
    expect(env.MQTT_PASSWORD?.length).toBeGreaterThanOrEqual(24);
    expect(loaded.influx).toEqual({
      url: 'http://influxdb:8086',
      token: 'token-from-/twc-tokens/api.token',
      org: 'twc',
      rawBucket: 'twc_raw',
    });
    expect(loaded.redis.url).toBe('redis://redis:6379');
    expect(loaded.tariff.TARIFF_DELIVERY_CENTS_KWH).toBe('8.1');
    expect(loaded.healthPort).toBe(8083);
    expect(JSON.stringify(service.healthcheck?.test)).toContain('HEALTH_PORT || 8083');
    expect(JSON.stringify(service.healthcheck?.test)).toContain('/health');
    // It takes the tariff file and the broker's CA from ./config, as the api did.
    expect((service.volumes ?? []).map(String).some((mount) => mount.endsWith('/config:/etc/twc:ro'))).toBe(true);
  });

  it('passes every setting each service reads, and documents every variable it uses in .env.example', async () => {
    // Each service's config exports the variables its schema reads.
    const wired: [string, string[]][] = [
      ['collector', COLLECTOR_SETTINGS],
      ['comed-poller', POLLER_SETTINGS],
      ['planner', PLANNER_SETTINGS],
      ['api', API_SETTINGS],
      ['homeassistant-bridge', HOMEASSISTANT_SETTINGS],
    ];
    const apiImage = (await apiLoaders()).map((loader) => loader.service);
    expect(wired.map(([name]) => name)).toEqual(['collector', 'comed-poller', 'planner', ...apiImage]);
    for (const [name, keys] of wired) {
      expect(keys.length, name).toBeGreaterThan(5);
      const environment = serviceEnv(config.services[name] as ComposeService);
      for (const key of keys) {
        const passed = key in environment || `${key}_FILE` in environment;
        expect(passed, `${name} reads ${key}; docker-compose.yml does not pass it`).toBe(true);
      }
    }
    // The planner and the services of the api image get nothing they do not read.
    for (const [name, keys] of wired.slice(2)) {
      const read = new Set(keys.flatMap((key) => [key, `${key}_FILE`]));
      const unread = Object.keys(serviceEnv(config.services[name] as ComposeService)).filter((key) => !read.has(key));
      expect(unread, `${name} is passed settings it does not read`).toEqual([]);
    }
    const composeText = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
    const example = readFileSync(join(REPO_ROOT, '.env.example'), 'utf8');
    const variables = new Set([...composeText.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((match) => match[1] as string));
    expect(variables.size).toBeGreaterThan(40);
    for (const variable of variables) {
      expect(example, `.env.example documents ${variable}`).toMatch(new RegExp(`^(# )?${variable}=`, 'm'));
    }
  });

  it('documents each default in .env.example as the code has it', async () => {
    // Uncommenting every documented default must change nothing a service sees.
    const documented = readFileSync(join(REPO_ROOT, '.env.example'), 'utf8').replace(/^# ([A-Z][A-Z0-9_]*=)/gm, '$1');
    const dir = makeInstallDir('compose-defaults');
    const secrets = [...env].filter(([key]) => /PASSWORD|TOKEN|SECRET|API_KEYS|CHARGERS/.test(key));
    const fill = (text: string) =>
      secrets.reduce((body, [key, value]) => body.replace(new RegExp(`^${key}=.*$`, 'm'), `${key}=${value}`), text);
    writeFileSync(join(dir, '.env'), fill(documented));
    const explicit = await composeConfig(dir, ALL_PROFILES);
    writeFileSync(join(dir, '.env'), fill(readFileSync(join(REPO_ROOT, '.env.example'), 'utf8')));
    const implicit = await composeConfig(dir, ALL_PROFILES);

    const load = (compose: ComposeConfig, name: string, loader: Loader) =>
      effectiveTariffs(loader(withSecretFiles(serviceEnv(compose.services[name] as ComposeService))));
    expect(load(explicit, 'collector', loadCollectorConfig)).toEqual(load(implicit, 'collector', loadCollectorConfig));
    expect(load(explicit, 'comed-poller', loadPricePollerConfig)).toEqual(
      load(implicit, 'comed-poller', loadPricePollerConfig),
    );
    expect(load(explicit, 'planner', loadPlannerConfig)).toEqual(load(implicit, 'planner', loadPlannerConfig));
    for (const { service, name, load: loader } of await apiLoaders()) {
      expect(load(explicit, service, loader), name).toEqual(load(implicit, service, loader));
    }
    const initScript = readFileSync(join(REPO_ROOT, 'influxdb/scripts/init.sh'), 'utf8');
    const grafanaScript = readFileSync(join(REPO_ROOT, 'grafana/entrypoint.sh'), 'utf8');
    const scriptDefaults = new Map([
      ...[...initScript.matchAll(/"\$\{(INFLUXDB_RETENTION_[A-Z0-9]+):-([^}]+)\}"/g)].map(
        (match) => [match[1] as string, match[2] as string] as const,
      ),
      ...[...grafanaScript.matchAll(/\bnumber (ALERT_[A-Z_]+) (\S+)\)/g)].map(
        (match) => [match[1] as string, match[2] as string] as const,
      ),
    ]);
    for (const name of ['influxdb', 'grafana', 'mosquitto', 'redis', 'telegraf', 'simulator']) {
      const strip = (service: ComposeService | undefined) =>
        Object.fromEntries(Object.entries(serviceEnv(service ?? {})).filter(([, value]) => value !== ''));
      const explicitEnv = strip(explicit.services[name]);
      const implicitEnv = strip(implicit.services[name]);
      // Where compose passes an empty value, the container's own script applies the default.
      for (const [key, value] of Object.entries(explicitEnv)) {
        if (key in implicitEnv) expect(value, `${name}.${key}`).toBe(implicitEnv[key]);
        else expect(scriptDefaults.get(key), `${name}.${key}`).toBe(value);
      }
    }
    expect(explicit.services.grafana?.ports).toEqual(implicit.services.grafana?.ports);
  });

  it('runs the simulated chargers where the CHARGERS of setup --demo point', async () => {
    const dir = makeInstallDir('compose-demo');
    const setup = await runSetup(dir, ['--non-interactive', '--no-start', '--demo']);
    expect(setup.code, setup.stderr).toBe(0);
    const demo = await composeConfig(dir);
    expect(Object.keys(demo.services)).toContain('simulator');
    const chargers = loadCollectorConfig(
      withSecretFiles(serviceEnv(demo.services.collector as ComposeService)),
    ).chargers;
    const command = demo.services.simulator?.command ?? [];
    const basePort = Number(command[command.indexOf('--port') + 1]);
    const count = Number(command[command.indexOf('--chargers') + 1]);
    expect(command.slice(0, 2)).toEqual(['dist/cli/main.js', 'simulate']);
    // The simulator is a service of its own on the stack's network, listening on every interface.
    expect(command[command.indexOf('--listen') + 1]).toBe('0.0.0.0');
    expect(chargers.map((charger) => charger.host)).toEqual(
      Array.from({ length: count }, (_, index) => `simulator:${basePort + index}`),
    );
    expect(JSON.stringify(demo.services.simulator?.healthcheck?.test)).toContain(`127.0.0.1:${basePort}/`);
  });
});
