/**
 * The Kubernetes chart (deploy/helm/twc-dashboard), checked with a real Helm
 * built from its Go module by scripts/build-helm.sh: lint, render, and the
 * rendered manifests held against docker-compose.yml and the services' own
 * configuration loaders.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCollectorConfig } from '@twc/collector/collector/config';
import { loadPricePollerConfig } from '@twc/collector/comed-poller/config';
import { loadPlannerConfig } from '@twc/collector/planner/config';
import { INFLUXDB_VERSION } from '@twc/testenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { memoryBytes, REPO_ROOT, run } from './stack.js';

const CHART = join(REPO_ROOT, 'deploy/helm/twc-dashboard');
const RELEASE = 'twc-dashboard';
const NAMESPACE = 'energy';

// --- Kubernetes objects, as far as the tests read them -----------------------

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
  exec?: { command: string[] };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: { name: string; containerPort: number }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
}
interface Volume {
  name: string;
  persistentVolumeClaim?: { claimName: string };
  secret?: { secretName: string };
  configMap?: { name: string; items?: { key: string; path: string }[] };
  emptyDir?: object;
}
interface PodSpec {
  containers: Container[];
  volumes?: Volume[];
  serviceAccountName?: string;
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: {
    replicas?: number;
    strategy?: { type?: string };
    template?: { spec: PodSpec };
    volumeClaimTemplates?: { metadata: { name: string }; spec: { resources: { requests: { storage: string } } } }[];
    selector?: Record<string, unknown>;
    ports?: { name: string; port: number }[];
    rules?: { host: string; http: { paths: { backend: { service: { name: string; port: { name: string } } } }[] } }[];
    tls?: { hosts: string[] }[];
  };
  rules?: { resources: string[]; verbs: string[]; resourceNames?: string[] }[];
}

class Rendered {
  constructor(readonly objects: K8sObject[]) {}

  find(kind: string, name: string): K8sObject {
    const found = this.objects.find((object) => object.kind === kind && object.metadata.name === name);
    if (!found) throw new Error(`no ${kind} ${name} in ${this.objects.map((o) => `${o.kind}/${o.metadata.name}`)}`);
    return found;
  }

  has(kind: string, name: string): boolean {
    return this.objects.some((object) => object.kind === kind && object.metadata.name === name);
  }

  ofKind(kind: string): K8sObject[] {
    return this.objects.filter((object) => object.kind === kind);
  }

  pod(kind: string, component: string): PodSpec {
    const spec = this.find(kind, `${RELEASE}-${component}`).spec?.template?.spec;
    if (!spec) throw new Error(`${kind} ${component} has no pod template`);
    return spec;
  }

  container(kind: string, component: string): Container {
    return this.pod(kind, component).containers[0] as Container;
  }

  /** A Secret's values, decoded. */
  secret(name: string): Record<string, string> {
    const data = this.find('Secret', name).data ?? {};
    return Object.fromEntries(
      Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString()]),
    );
  }
}

/** Temporary directories of this file, removed after its tests. */
const scratchDirs: string[] = [];
function scratchDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `twc-helm-${label}-`));
  scratchDirs.push(dir);
  return dir;
}

// --- helm --------------------------------------------------------------------

let helm: string;

async function helmRun(args: string[]) {
  return run(helm, args, { cwd: REPO_ROOT, env: { PATH: process.env.PATH, HOME: tmpdir() } });
}

async function render(args: string[] = []): Promise<Rendered> {
  const result = await helmRun(['template', RELEASE, CHART, '--namespace', NAMESPACE, ...args]);
  if (result.code !== 0) throw new Error(`helm template failed:\n${result.stderr}`);
  const documents = parseAllDocuments(result.stdout).map((document) => {
    if (document.errors.length > 0) throw new Error(`invalid YAML rendered: ${document.errors[0]?.message}`);
    return document.toJS() as K8sObject | null;
  });
  return new Rendered(documents.filter((document): document is K8sObject => document !== null));
}

function valuesFile(label: string, values: unknown): string {
  const file = join(scratchDir(label), 'values.yaml');
  writeFileSync(file, JSON.stringify(values, null, 2));
  return file;
}

// --- docker-compose.yml, the reference --------------------------------------

interface ComposeFileService {
  image?: string;
  mem_limit?: string;
  environment?: Record<string, unknown>;
  volumes?: string[];
  command?: string[];
}
const compose = parseYaml(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeFileService>;
};

function composeService(name: string): ComposeFileService {
  const service = compose.services[name];
  if (!service) throw new Error(`docker-compose.yml has no service ${name}`);
  return service;
}

/** The chart's workload for each compose service: [kind, component]. */
const WORKLOADS: Record<string, [string, string]> = {
  influxdb: ['StatefulSet', 'influxdb'],
  redis: ['StatefulSet', 'redis'],
  mosquitto: ['StatefulSet', 'mosquitto'],
  grafana: ['Deployment', 'grafana'],
  collector: ['Deployment', 'collector'],
  'comed-poller': ['Deployment', 'comed-poller'],
  api: ['Deployment', 'api'],
  'homeassistant-bridge': ['Deployment', 'homeassistant-bridge'],
  planner: ['Deployment', 'planner'],
};

// --- the environment a container would see -----------------------------------

/**
 * The container's environment as Kubernetes would give it: values as they
 * are, secret references resolved from `secrets` (optional ones left unset when
 * absent), and each *_FILE under /twc-tokens written to a temporary file holding
 * the token the mounted Secret would hold.
 */
function containerEnv(
  container: Container,
  secrets: Record<string, Record<string, string>>,
  tokens: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  const dir = scratchDir('env');
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref) {
      const value = secrets[ref.name]?.[ref.key];
      if (value === undefined && !ref.optional) throw new Error(`${variable.name}: ${ref.name}/${ref.key} missing`);
      if (value !== undefined) env[variable.name] = value;
    } else {
      env[variable.name] = variable.value ?? '';
    }
  }
  for (const [name, value] of Object.entries(env)) {
    if (name.endsWith('_FILE') && value.startsWith('/twc-tokens/')) {
      const key = value.slice('/twc-tokens/'.length);
      const token = tokens[key];
      if (token === undefined) throw new Error(`${name}: the tokens Secret has no ${key}`);
      const file = join(dir, key);
      writeFileSync(file, token);
      env[name] = file;
    }
  }
  return env;
}

type Loader = (env: NodeJS.ProcessEnv) => unknown;

async function apiLoader(path: string, exportName: string): Promise<Loader> {
  const module = (await import(join(REPO_ROOT, path))) as Record<string, Loader>;
  const load = module[exportName];
  if (typeof load !== 'function') throw new Error(`${path} no longer exports ${exportName}`);
  return load;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((entry) => statSync(join(dir, entry)).isFile())
    .sort();
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

const CHARGERS = 'garage=192.168.1.50,barn=192.168.1.51:8080';
const TARIFF_YAML =
  '# A leading comment and indentation must survive.\nmonthlyFixedUsd: 21\nschedule:\n  - { from: "13:00", to: "19:00", centsPerKwh: 12 }\n';

describe('the Helm chart', () => {
  let defaults: Rendered;
  let configured: Rendered;
  let external: Rendered;
  let externalValues: string;

  beforeAll(async () => {
    // The chart's files/ copies of grafana/, influxdb/ and mosquitto.conf are not committed
    // (Helm reads only files inside the chart); sync makes them, as packaging does.
    const synced = await run('bash', ['scripts/build-helm.sh', 'sync'], { cwd: REPO_ROOT });
    if (synced.code !== 0) throw new Error(`scripts/build-helm.sh sync failed:\n${synced.stderr}`);
    const built = await run('bash', ['scripts/build-helm.sh'], { cwd: REPO_ROOT, timeoutMs: 900_000 });
    if (built.code !== 0) throw new Error(`scripts/build-helm.sh failed:\n${built.stderr}`);
    helm = built.stdout.trim();
    externalValues = valuesFile('external', {
      image: {
        collector: { repository: 'registry.example.com/twc/collector', tag: '1.2.3' },
        api: { repository: 'registry.example.com/twc/api', tag: '1.2.4' },
      },
      settings: {
        CHARGERS,
        TIMEZONE: 'America/Denver',
        AUTH_MODE: 'apikey',
        TARIFF_DELIVERY_CENTS_KWH: '8.1',
        TARIFF_FILE: '/etc/twc/tariff.yaml',
      },
      configFiles: { 'tariff.yaml': TARIFF_YAML },
      secrets: { MQTT_PASSWORD: 'broker-secret', API_KEYS: 'key-one-0123456789,key-two-0123456789' },
      influxdb: { enabled: false },
      externalInfluxdb: { url: 'http://influxdb.monitoring.svc:8086' },
      redis: { enabled: false },
      externalRedis: { url: 'redis://redis.cache.svc:6379' },
      mosquitto: { enabled: false },
      externalMqtt: { url: 'mqtt://homeassistant.local:1883' },
      influxdbInit: { enabled: false },
      influxdbTokens: {
        values: { collector: 'tok-collector', 'comed-poller': 'tok-poller', api: 'tok-api', grafana: 'tok-grafana' },
      },
      api: { replicas: 2, persistence: { enabled: false } },
      ingress: {
        enabled: true,
        className: 'nginx',
        grafana: { host: 'grafana.example.com' },
        api: { host: 'twc-api.example.com' },
        tls: [{ secretName: 'twc-tls', hosts: ['grafana.example.com', 'twc-api.example.com'] }],
      },
    });
    [defaults, configured, external] = await Promise.all([
      render(),
      render(['--set-string', `settings.CHARGERS=${CHARGERS.replaceAll(',', '\\,')}`]),
      render(['--values', externalValues]),
    ]);
  }, 900_000);

  afterAll(() => {
    for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('holds byte-identical copies of grafana/, influxdb/ and mosquitto.conf (scripts/build-helm.sh sync)', () => {
    for (const [source, copy] of [
      ['grafana/provisioning', 'files/grafana/provisioning'],
      ['grafana/dashboards', 'files/grafana/dashboards'],
      ['influxdb/scripts', 'files/influxdb/scripts'],
      ['influxdb/tasks', 'files/influxdb/tasks'],
    ]) {
      const sourceDir = join(REPO_ROOT, source as string);
      const copyDir = join(CHART, copy as string);
      expect(filesUnder(copyDir), `${copy} lists the files of ${source}`).toEqual(filesUnder(sourceDir));
      for (const file of filesUnder(sourceDir)) {
        expect(sha256(join(copyDir, file)), `${copy}/${file}`).toBe(sha256(join(sourceDir, file)));
      }
    }
    for (const [source, copy] of [
      ['grafana/entrypoint.sh', 'files/grafana/entrypoint.sh'],
      ['mosquitto/mosquitto.conf', 'files/mosquitto/mosquitto.conf'],
    ]) {
      expect(sha256(join(CHART, copy as string)), copy).toBe(sha256(join(REPO_ROOT, source as string)));
    }
    expect(filesUnder(join(CHART, 'files/grafana')).filter((file) => !file.includes('/'))).toEqual(['entrypoint.sh']);
  });

  it.each([
    ['default values', () => []],
    ['external servers and an ingress', () => ['--values', externalValues]],
  ])('passes helm lint --strict with %s', async (_label, args) => {
    const result = await helmRun(['lint', '--strict', CHART, ...args()]);
    expect(result.stderr).toBe('');
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('packages into a chart archive that carries the dashboards', async () => {
    const dir = scratchDir('package');
    const result = await helmRun(['package', CHART, '--destination', dir]);
    expect(result.code, result.stderr).toBe(0);
    const listing = await run('tar', ['-tzf', join(dir, 'twc-dashboard-0.1.0.tgz')]);
    for (const dashboard of readdirSync(join(REPO_ROOT, 'grafana/dashboards'))) {
      expect(listing.stdout).toContain(`twc-dashboard/files/grafana/dashboards/${dashboard}`);
    }
    expect(listing.stdout).toContain('twc-dashboard/files/influxdb/scripts/init.sh');
  });

  it('runs every service of docker-compose.yml but the demo and host-metrics profiles', () => {
    const workloads = [...defaults.ofKind('Deployment'), ...defaults.ofKind('StatefulSet')].map(
      (object) => `${object.kind}/${object.metadata.name}`,
    );
    expect(workloads.sort()).toEqual(
      Object.values(WORKLOADS)
        .map(([kind, component]) => `${kind}/${RELEASE}-${component}`)
        .sort(),
    );
    for (const [kind, component] of Object.values(WORKLOADS)) {
      expect(defaults.find(kind, `${RELEASE}-${component}`).spec?.replicas, component).toBe(1);
    }
  });

  it('runs the project images, repository and tag configurable, and the third-party images of docker-compose.yml', () => {
    const appVersion = (parseYaml(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { appVersion: string })
      .appVersion;
    expect(defaults.container('Deployment', 'collector').image).toBe(`twc-dashboard/collector:${appVersion}`);
    expect(defaults.container('Deployment', 'comed-poller').image).toBe(`twc-dashboard/collector:${appVersion}`);
    expect(defaults.container('Deployment', 'api').image).toBe(`twc-dashboard/api:${appVersion}`);
    expect(external.container('Deployment', 'collector').image).toBe('registry.example.com/twc/collector:1.2.3');
    expect(external.container('Deployment', 'comed-poller').image).toBe('registry.example.com/twc/collector:1.2.3');
    expect(external.container('Deployment', 'api').image).toBe('registry.example.com/twc/api:1.2.4');
    for (const service of ['influxdb', 'redis', 'mosquitto', 'grafana']) {
      const [kind, component] = WORKLOADS[service] as [string, string];
      expect(defaults.container(kind, component).image, service).toBe(composeService(service).image);
    }
    expect(defaults.container('StatefulSet', 'influxdb').image).toBe(`influxdb:${INFLUXDB_VERSION.replace(/^v/, '')}`);
    // The same commands as docker-compose.yml.
    // The collector image's ENTRYPOINT (node and its V8 settings) stays; only the script is given.
    for (const component of ['collector', 'comed-poller']) {
      const container = defaults.container('Deployment', component);
      expect(container.command, component).toBeUndefined();
      expect(container.args, component).toEqual(composeService(component).command);
    }
    expect(defaults.container('Deployment', 'api').command).toEqual(['node', 'dist/server.js']);
    // The bridge: the api image, another command.
    expect(defaults.container('Deployment', 'homeassistant-bridge').image).toBe(`twc-dashboard/api:${appVersion}`);
    expect(external.container('Deployment', 'homeassistant-bridge').image).toBe('registry.example.com/twc/api:1.2.4');
    expect(defaults.container('Deployment', 'homeassistant-bridge').command).toEqual(
      composeService('homeassistant-bridge').command,
    );
    expect(defaults.container('Deployment', 'homeassistant-bridge').command).toEqual([
      'node',
      'dist/homeassistant/main.js',
    ]);
  });

  it('limits each container to the memory docker-compose.yml gives it, and requests no more', () => {
    for (const [service, [kind, component]] of Object.entries(WORKLOADS)) {
      const resources = defaults.container(kind, component).resources;
      const limit = memoryBytes(resources?.limits?.memory?.replace(/i$/, ''));
      expect(limit, service).toBe(memoryBytes(composeService(service).mem_limit));
      const request = memoryBytes(resources?.requests?.memory?.replace(/i$/, ''));
      expect(request, service).toBeGreaterThan(0);
      expect(request, service).toBeLessThanOrEqual(limit);
      expect(resources?.requests?.cpu, service).toMatch(/^\d+m$/);
    }
  });

  it('probes liveness and readiness on the health checks docker-compose.yml uses', () => {
    const httpProbe = (kind: string, component: string) => {
      const container = defaults.container(kind, component);
      return [container.livenessProbe?.httpGet?.path, container.readinessProbe?.httpGet?.path];
    };
    expect(httpProbe('StatefulSet', 'influxdb')).toEqual(['/health', '/health']);
    expect(httpProbe('Deployment', 'grafana')).toEqual(['/api/health', '/api/health']);
    // /ready also needs InfluxDB and Redis: a pod that cannot answer gets no traffic.
    expect(httpProbe('Deployment', 'api')).toEqual(['/health', '/ready']);
    const api = defaults.container('Deployment', 'api');
    expect(api.ports).toEqual([{ name: 'http', containerPort: 8000 }]);
    expect(api.livenessProbe?.httpGet?.port).toBe('http');

    // The collector's health server listens on loopback only: the probe runs inside, as compose's does.
    const collector = defaults.container('Deployment', 'collector');
    const composeTest = (composeService('collector') as { healthcheck?: { test: string[] } }).healthcheck?.test;
    for (const probe of [collector.livenessProbe, collector.readinessProbe]) {
      expect(probe?.exec?.command.join(' ')).toContain("fetch('http://127.0.0.1:8081/health')");
    }
    expect(composeTest?.join(' ')).toContain('/health');
    const poller = defaults.container('Deployment', 'comed-poller');
    for (const probe of [poller.livenessProbe, poller.readinessProbe]) {
      // The poller's /health answers 200 only once a current price is in Redis.
      expect(probe?.exec?.command.join(' ')).toContain("fetch('http://127.0.0.1:8082/health')");
    }
    const bridge = defaults.container('Deployment', 'homeassistant-bridge');
    for (const probe of [bridge.livenessProbe, bridge.readinessProbe]) {
      // The bridge's /health answers 200 while it is connected to the broker, on the port it is given.
      expect(probe?.exec?.command.join(' ')).toContain("fetch('http://127.0.0.1:8083/health')");
    }
    expect(bridge.env?.find((variable) => variable.name === 'HEALTH_PORT')?.value).toBe('8083');
    for (const component of ['redis', 'mosquitto']) {
      const container = defaults.container('StatefulSet', component);
      expect(container.livenessProbe?.exec?.command.length, component).toBeGreaterThan(0);
      expect(container.readinessProbe?.exec?.command, component).toEqual(container.livenessProbe?.exec?.command);
    }
  });

  it('keeps every service data on a persistent volume, at the paths docker-compose.yml mounts', () => {
    const claims = new Map(defaults.ofKind('PersistentVolumeClaim').map((claim) => [claim.metadata.name, claim]));
    for (const [component, path] of [
      ['collector', '/var/lib/twc'],
      ['comed-poller', '/var/lib/twc'],
      ['planner', '/var/lib/twc'],
      ['api', '/var/lib/twc'],
      ['grafana', '/var/lib/grafana'],
    ] as const) {
      const pod = defaults.pod('Deployment', component);
      const mount = pod.containers[0]?.volumeMounts?.find((candidate) => candidate.mountPath === path);
      expect(mount, `${component} mounts ${path}`).toBeDefined();
      const volume = pod.volumes?.find((candidate) => candidate.name === mount?.name);
      expect(volume?.persistentVolumeClaim?.claimName, component).toBe(`${RELEASE}-${component}`);
      expect(claims.has(`${RELEASE}-${component}`), component).toBe(true);
    }
    for (const [component, paths] of [
      ['influxdb', ['/var/lib/influxdb2', '/etc/influxdb2']],
      ['redis', ['/data']],
      ['mosquitto', ['/mosquitto/data', '/mosquitto/auth']],
    ] as const) {
      const set = defaults.find('StatefulSet', `${RELEASE}-${component}`);
      expect(
        set.spec?.volumeClaimTemplates?.map((claim) => claim.metadata.name),
        component,
      ).toEqual(['data']);
      const mounts = set.spec?.template?.spec.containers[0]?.volumeMounts ?? [];
      for (const path of paths) {
        expect(mounts.find((mount) => mount.mountPath === path)?.name, `${component} ${path}`).toBe('data');
      }
    }
    // No claim for the API when its reports need not outlive a pod (several replicas).
    expect(external.has('PersistentVolumeClaim', `${RELEASE}-api`)).toBe(false);
    expect(external.find('Deployment', `${RELEASE}-api`).spec?.replicas).toBe(2);
  });

  it('passes each Node service the environment docker-compose.yml passes it', () => {
    for (const service of ['collector', 'comed-poller', 'planner', 'api', 'homeassistant-bridge']) {
      const [kind, component] = WORKLOADS[service] as [string, string];
      const names = (defaults.container(kind, component).env ?? []).map((variable) => variable.name);
      expect(new Set(names).size, `${service} sets each variable once`).toBe(names.length);
      expect(names.sort(), service).toEqual(Object.keys(composeService(service).environment ?? {}).sort());
    }
    const grafana = new Set((defaults.container('Deployment', 'grafana').env ?? []).map((variable) => variable.name));
    for (const name of Object.keys(composeService('grafana').environment ?? {})) {
      expect(grafana.has(name), `grafana ${name}`).toBe(true);
    }
  });

  it('offers every setting of .env.example, as a setting or a secret', () => {
    const values = parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as {
      settings: Record<string, unknown>;
      secrets: Record<string, unknown>;
    };
    // Compose's own (project, profiles, image tag, published ports) and the
    // host-metrics profile, which the chart does not run; the API port is api.port.
    const composeOnly = new Set([
      'COMPOSE_PROJECT_NAME',
      'COMPOSE_PROFILES',
      'TWC_IMAGE_TAG',
      'GRAFANA_PORT',
      'API_PORT',
      'HOST_METRICS_HOSTNAME',
    ]);
    const names = [
      ...readFileSync(join(REPO_ROOT, '.env.example'), 'utf8').matchAll(/^(?:# )?([A-Z][A-Z0-9_]+)=/gm),
    ].map((match) => match[1] as string);
    expect(names.length).toBeGreaterThan(50);
    const missing = names.filter(
      (name) => !composeOnly.has(name) && !(name in values.settings) && !(name in values.secrets),
    );
    expect(missing).toEqual([]);
  });

  it('generates the secrets setup.sh generates, once, and keeps optional ones out until set', () => {
    const secret = defaults.secret(RELEASE);
    expect(Object.keys(secret).sort()).toEqual(
      [
        'API_KEYS',
        'GRAFANA_ADMIN_PASSWORD',
        'INFLUXDB_ADMIN_PASSWORD',
        'INFLUXDB_ADMIN_TOKEN',
        'JWT_SECRET',
        'MQTT_PASSWORD',
      ].sort(),
    );
    expect(secret.JWT_SECRET?.length).toBeGreaterThanOrEqual(32);
    for (const [key, value] of Object.entries(secret)) expect(value, key).toMatch(/^[A-Za-z0-9]{24,}$/);
    const given = external.secret(RELEASE);
    expect(given.MQTT_PASSWORD).toBe('broker-secret');
    expect(given.API_KEYS).toBe('key-one-0123456789,key-two-0123456789');
  });

  it('gives the collector and comed-poller a configuration their loaders accept, with the bundled servers', () => {
    const secrets = { [RELEASE]: configured.secret(RELEASE) };
    const tokens = { 'collector.token': 'collector-token', 'comed-poller.token': 'poller-token' };
    const collector = loadCollectorConfig(
      containerEnv(configured.container('Deployment', 'collector'), secrets, tokens),
    );
    expect(collector.chargers).toEqual([
      { name: 'garage', host: '192.168.1.50' },
      { name: 'barn', host: '192.168.1.51:8080' },
    ]);
    expect(collector.influx).toEqual({
      url: `http://${RELEASE}-influxdb:8086`,
      token: 'collector-token',
      org: 'twc',
      rawBucket: 'twc_raw',
      sessionsBucket: 'twc_sessions',
      pricesBucket: 'twc_prices',
    });
    expect(collector.redis).toEqual({ url: `redis://${RELEASE}-redis:6379`, keyPrefix: 'twc:' });
    expect(collector.spool.dir).toBe('/var/lib/twc/spool');
    expect(collector.healthPort).toBe(8081);
    expect(collector.pricing.timeZone).toBe('America/Chicago');
    expect(collector.simClock).toBeUndefined();

    const poller = loadPricePollerConfig(
      containerEnv(configured.container('Deployment', 'comed-poller'), secrets, tokens),
    );
    expect(poller.influx).toEqual({
      url: `http://${RELEASE}-influxdb:8086`,
      token: 'poller-token',
      org: 'twc',
      bucket: 'twc_prices',
    });
    expect(poller.progressFile).toBe('/var/lib/twc/price-backfill.json');
    expect(poller.spool.dir).toBe('/var/lib/twc/spool');
    expect(poller.redis.url).toBe(`redis://${RELEASE}-redis:6379`);

    const planner = loadPlannerConfig(containerEnv(configured.container('Deployment', 'planner'), secrets, tokens));
    expect(planner.influx).toEqual({
      url: `http://${RELEASE}-influxdb:8086`,
      token: 'collector-token',
      org: 'twc',
      sessionsBucket: 'twc_sessions',
    });
    expect(planner.stateDir).toBe('/var/lib/twc/planner');
    expect(planner.carControl.teslaFleet.tokenFile).toBe('/var/lib/twc/tesla-tokens.json');
    expect(planner.healthPort).toBe(8084);
  });

  it('refuses nothing but CHARGERS with default values: the one setting without a default', () => {
    const secrets = { [RELEASE]: defaults.secret(RELEASE) };
    const env = containerEnv(defaults.container('Deployment', 'collector'), secrets, {
      'collector.token': 'collector-token',
    });
    expect(() => loadCollectorConfig(env)).toThrow(/invalid collector configuration:[\s\S]*CHARGERS/);
    expect(loadCollectorConfig({ ...env, CHARGERS }).chargers).toHaveLength(2);
  });

  it('gives the api and the Home Assistant bridge a configuration their loaders accept', async () => {
    const loadApiConfig = await apiLoader('api/src/config.ts', 'loadApiConfig');
    const loadHomeAssistantConfig = await apiLoader('api/src/homeassistant/config.ts', 'loadHomeAssistantConfig');

    const secrets = { [RELEASE]: configured.secret(RELEASE) };
    const env = containerEnv(configured.container('Deployment', 'api'), secrets, { 'api.token': 'api-token' });
    expect(loadApiConfig(env)).toMatchObject({
      host: '0.0.0.0',
      port: 8000,
      influx: { url: `http://${RELEASE}-influxdb:8086`, token: 'api-token', org: 'twc' },
      redis: { url: `redis://${RELEASE}-redis:6379`, keyPrefix: 'twc:' },
      reports: { dir: '/var/lib/twc/reports' },
    });
    // The API no longer runs the bridge: no broker settings.
    expect(Object.keys(env).filter((name) => /^(MQTT|HA)_/.test(name))).toEqual([]);
    const bridgeEnv = containerEnv(configured.container('Deployment', 'homeassistant-bridge'), secrets, {
      'api.token': 'api-token',
    });
    expect(loadHomeAssistantConfig(bridgeEnv)).toMatchObject({
      mqtt: {
        url: `mqtt://${RELEASE}-mosquitto:1883`,
        username: 'twc',
        password: secrets[RELEASE].MQTT_PASSWORD,
      },
      redis: { url: `redis://${RELEASE}-redis:6379`, keyPrefix: 'twc:' },
      influx: { url: `http://${RELEASE}-influxdb:8086`, token: 'api-token', org: 'twc', rawBucket: 'twc_raw' },
      healthPort: 8083,
    });
    // The broker checks the same user and password.
    const mosquitto = containerEnv(defaults.container('StatefulSet', 'mosquitto'), secrets, {});
    expect(mosquitto.MQTT_USERNAME).toBe('twc');
    expect(mosquitto.MQTT_PASSWORD).toBe(secrets[RELEASE].MQTT_PASSWORD);

    const externalSecrets = {
      [RELEASE]: external.secret(RELEASE),
      [`${RELEASE}-influxdb-tokens`]: external.secret(`${RELEASE}-influxdb-tokens`),
    };
    const externalEnv = containerEnv(
      external.container('Deployment', 'api'),
      externalSecrets,
      external.secret(`${RELEASE}-influxdb-tokens`),
    );
    expect(loadApiConfig(externalEnv)).toMatchObject({
      influx: { url: 'http://influxdb.monitoring.svc:8086', token: 'tok-api' },
      redis: { url: 'redis://redis.cache.svc:6379' },
      timeZone: 'America/Denver',
      auth: { mode: 'apikey', apiKeys: ['key-one-0123456789', 'key-two-0123456789'] },
    });
    const externalBridgeEnv = containerEnv(
      external.container('Deployment', 'homeassistant-bridge'),
      externalSecrets,
      external.secret(`${RELEASE}-influxdb-tokens`),
    );
    expect(loadHomeAssistantConfig(externalBridgeEnv)).toMatchObject({
      mqtt: { url: 'mqtt://homeassistant.local:1883', password: 'broker-secret' },
      redis: { url: 'redis://redis.cache.svc:6379' },
      influx: { url: 'http://influxdb.monitoring.svc:8086', token: 'tok-api' },
      tariff: { TARIFF_DELIVERY_CENTS_KWH: '8.1', TARIFF_FILE: '/etc/twc/tariff.yaml' },
    });
  });

  it('runs one Home Assistant bridge, replaced by Recreate, however many API replicas run', () => {
    for (const rendered of [defaults, external]) {
      const bridge = rendered.find('Deployment', `${RELEASE}-homeassistant-bridge`);
      expect(bridge.spec?.replicas).toBe(1);
      expect(bridge.spec?.strategy).toEqual({ type: 'Recreate' });
    }
    expect(external.find('Deployment', `${RELEASE}-api`).spec?.replicas).toBe(2);
    // No Service: nothing connects to it.
    expect(defaults.has('Service', `${RELEASE}-homeassistant-bridge`)).toBe(false);
  });

  it.each([
    ['no broker at all', ['--set', 'mosquitto.enabled=false']],
    ['the bridge turned off', ['--set', 'homeassistantBridge.enabled=false']],
  ])('deploys no Home Assistant bridge with %s', async (_label, args) => {
    const rendered = await render(args);
    expect(rendered.has('Deployment', `${RELEASE}-homeassistant-bridge`)).toBe(false);
    expect(rendered.has('Deployment', `${RELEASE}-api`)).toBe(true);
  });

  it('deploys the bridge for a broker named in settings.MQTT_URL, the bundled Mosquitto off', async () => {
    const rendered = await render([
      '--set',
      'mosquitto.enabled=false',
      '--set-string',
      'settings.MQTT_URL=mqtts://broker.lan:8883',
    ]);
    const env = rendered.container('Deployment', 'homeassistant-bridge').env ?? [];
    expect(env.find((variable) => variable.name === 'MQTT_URL')?.value).toBe('mqtts://broker.lan:8883');
  });

  it('points everything at external servers when the bundled ones are off', () => {
    expect(external.ofKind('StatefulSet')).toEqual([]);
    expect(external.ofKind('Job')).toEqual([]);
    const tokens = external.secret(`${RELEASE}-influxdb-tokens`);
    expect(tokens).toEqual({
      'collector.token': 'tok-collector',
      'comed-poller.token': 'tok-poller',
      'api.token': 'tok-api',
      'grafana.token': 'tok-grafana',
    });
    const collector = loadCollectorConfig(
      containerEnv(external.container('Deployment', 'collector'), { [RELEASE]: external.secret(RELEASE) }, tokens),
    );
    expect(collector.influx.url).toBe('http://influxdb.monitoring.svc:8086');
    expect(collector.influx.token).toBe('tok-collector');
    expect(collector.redis.url).toBe('redis://redis.cache.svc:6379');
    expect(collector.pricing.timeZone).toBe('America/Denver');
    expect(collector.pricing.tariff.TARIFF_DELIVERY_CENTS_KWH).toBe('8.1');
    const datasource = external.find('ConfigMap', `${RELEASE}-grafana-provisioning`).data?.[
      'provisioning__datasources__influxdb.yaml'
    ];
    expect(datasource).toContain('url: http://influxdb.monitoring.svc:8086\n');
  });

  it('mounts configFiles at /etc/twc in the collector, the api and the bridge, like ./config in docker-compose.yml', () => {
    expect(defaults.has('ConfigMap', `${RELEASE}-config`)).toBe(false);
    expect(external.find('ConfigMap', `${RELEASE}-config`).data).toEqual({ 'tariff.yaml': TARIFF_YAML });
    for (const component of ['collector', 'api', 'homeassistant-bridge']) {
      const pod = external.pod('Deployment', component);
      const mount = pod.containers[0]?.volumeMounts?.find((candidate) => candidate.mountPath === '/etc/twc');
      const volume = pod.volumes?.find((candidate) => candidate.name === mount?.name);
      expect(volume?.configMap?.name, component).toBe(`${RELEASE}-config`);
    }
    // The tariff is read by the collector (session costs) and the bridge (the all-in price).
    for (const component of ['collector', 'homeassistant-bridge']) {
      const env = external.container('Deployment', component).env?.find((variable) => variable.name === 'TARIFF_FILE');
      expect(env?.value, component).toBe('/etc/twc/tariff.yaml');
    }
  });

  it('runs Mosquitto with the repository configuration', () => {
    const config = defaults.find('ConfigMap', `${RELEASE}-mosquitto`).data ?? {};
    expect(config['mosquitto.conf']).toBe(readFileSync(join(REPO_ROOT, 'mosquitto/mosquitto.conf'), 'utf8'));
    const container = defaults.container('StatefulSet', 'mosquitto');
    expect(container.volumeMounts).toContainEqual({
      name: 'config',
      mountPath: '/mosquitto/config/mosquitto.conf',
      subPath: 'mosquitto.conf',
      readOnly: true,
    });
    expect(container.command?.join(' ')).toContain(
      'exec /docker-entrypoint.sh mosquitto -c /mosquitto/config/mosquitto.conf',
    );
  });

  it('routes the Grafana and API host names through one optional Ingress', () => {
    expect(defaults.ofKind('Ingress')).toEqual([]);
    const ingress = external.find('Ingress', RELEASE);
    const rules = Object.fromEntries(
      (ingress.spec?.rules ?? []).map((rule) => [rule.host, rule.http.paths[0]?.backend.service]),
    );
    expect(rules).toEqual({
      'grafana.example.com': { name: `${RELEASE}-grafana`, port: { name: 'http' } },
      'twc-api.example.com': { name: `${RELEASE}-api`, port: { name: 'http' } },
    });
    expect(ingress.spec?.tls?.[0]?.hosts).toEqual(['grafana.example.com', 'twc-api.example.com']);
    for (const component of ['grafana', 'api']) {
      const service = external.find('Service', `${RELEASE}-${component}`);
      expect(
        service.spec?.ports?.map((port) => port.name),
        component,
      ).toContain('http');
    }
  });

  it('provisions Grafana from the copied files, with the data source at the release InfluxDB', () => {
    const provisioning = defaults.find('ConfigMap', `${RELEASE}-grafana-provisioning`).data ?? {};
    const pod = defaults.pod('Deployment', 'grafana');
    const items = pod.volumes?.find((volume) => volume.name === 'provisioning')?.configMap?.items ?? [];
    const sourceFiles = [
      'entrypoint.sh',
      ...filesUnder(join(REPO_ROOT, 'grafana/provisioning')).map((file) => `provisioning/${file}`),
    ];
    expect(items.map((item) => item.path).sort()).toEqual(sourceFiles.sort());
    for (const item of items) {
      expect(provisioning[item.key], item.path).toBeDefined();
      if (item.path === 'provisioning/datasources/influxdb.yaml') continue;
      expect(provisioning[item.key], item.path).toBe(readFileSync(join(REPO_ROOT, 'grafana', item.path), 'utf8'));
    }
    const datasource = parseYaml(provisioning['provisioning__datasources__influxdb.yaml'] as string) as {
      datasources: { url: string; uid: string }[];
    };
    expect(datasource.datasources[0]?.url).toBe(`http://${RELEASE}-influxdb:8086`);
    expect(datasource.datasources[0]?.uid).toBe('twc-influxdb');

    const dashboards = defaults.find('ConfigMap', `${RELEASE}-grafana-dashboards`).data ?? {};
    const dashboardFiles = readdirSync(join(REPO_ROOT, 'grafana/dashboards'));
    expect(Object.keys(dashboards).sort()).toEqual(dashboardFiles.sort());
    for (const file of dashboardFiles) {
      expect(dashboards[file], file).toBe(readFileSync(join(REPO_ROOT, 'grafana/dashboards', file), 'utf8'));
    }
    const mounts = Object.fromEntries(
      (pod.containers[0]?.volumeMounts ?? []).map((mount) => [mount.mountPath, mount.name]),
    );
    // The paths docker-compose.yml mounts and grafana/entrypoint.sh reads.
    expect(mounts).toMatchObject({
      '/etc/twc/grafana': 'provisioning',
      '/var/lib/grafana/dashboards': 'dashboards',
      '/twc-tokens': 'influxdb-tokens',
    });
    expect(defaults.container('Deployment', 'grafana').command?.join(' ')).toContain(
      'exec /bin/sh /etc/twc/grafana/entrypoint.sh',
    );
  });

  it('sets InfluxDB up with a Job running init.sh, whose tokens the services mount', () => {
    const [job] = defaults.ofKind('Job');
    expect(job?.metadata.name).toBe(`${RELEASE}-influxdb-init-1`);
    const pod = job?.spec?.template?.spec as PodSpec;
    const container = pod.containers[0] as Container;
    expect(container.image).toBe(composeService('influxdb').image);
    expect(container.command).toEqual(['bash', '/twc/influxdb/scripts/init-job.sh']);
    const env = containerEnv(container, { [RELEASE]: defaults.secret(RELEASE) }, {});
    expect(env.INFLUX_HOST).toBe(`http://${RELEASE}-influxdb:8086`);
    expect(env.INFLUX_TOKEN).toBe(defaults.secret(RELEASE).INFLUXDB_ADMIN_TOKEN);
    expect(env.INFLUXDB_TASKS_DIR).toBe('/twc/influxdb/tasks');
    expect(env.TOKENS_SECRET).toBe(`${RELEASE}-influxdb-tokens`);

    const init = defaults.find('ConfigMap', `${RELEASE}-influxdb-init`).data ?? {};
    const items = pod.volumes?.find((volume) => volume.name === 'init')?.configMap?.items ?? [];
    const expected = [
      'scripts/init-job.sh',
      ...filesUnder(join(REPO_ROOT, 'influxdb/scripts')).map((file) => `scripts/${file}`),
      ...filesUnder(join(REPO_ROOT, 'influxdb/tasks')).map((file) => `tasks/${file}`),
    ];
    expect(items.map((item) => item.path).sort()).toEqual(expected.sort());
    for (const item of items) expect(init[item.key], item.path).toBeDefined();
    for (const item of items.filter((candidate) => candidate.path !== 'scripts/init-job.sh')) {
      expect(init[item.key], item.path).toBe(readFileSync(join(REPO_ROOT, 'influxdb', item.path), 'utf8'));
    }
    expect(init['init-job.sh']).toBe(readFileSync(join(CHART, 'files/init-job.sh'), 'utf8'));

    // The Job may write that one Secret and no other.
    const role = defaults.find('Role', `${RELEASE}-influxdb-init`);
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      {
        apiGroups: [''],
        resources: ['secrets'],
        resourceNames: [`${RELEASE}-influxdb-tokens`],
        verbs: ['get', 'update'],
      },
    ]);
    expect(pod.serviceAccountName).toBe(`${RELEASE}-influxdb-init`);
    for (const [component, token] of [
      ['collector', 'collector.token'],
      ['comed-poller', 'comed-poller.token'],
      ['api', 'api.token'],
      ['homeassistant-bridge', 'api.token'],
      ['grafana', null],
    ] as const) {
      const service = defaults.pod('Deployment', component);
      expect(service.volumes?.find((volume) => volume.name === 'influxdb-tokens')?.secret?.secretName, component).toBe(
        `${RELEASE}-influxdb-tokens`,
      );
      if (token) {
        const file = service.containers[0]?.env?.find((variable) => variable.name === 'INFLUXDB_TOKEN_FILE');
        expect(file?.value, component).toBe(`/twc-tokens/${token}`);
      }
    }
  });

  it.each([
    [
      'an external InfluxDB without its URL',
      ['--set', 'influxdb.enabled=false'],
      /externalInfluxdb\.url is required when influxdb\.enabled is false/,
    ],
    [
      'an external Redis without its URL',
      ['--set', 'redis.enabled=false'],
      /externalRedis\.url is required when redis\.enabled is false/,
    ],
    [
      'no init Job and no tokens',
      ['--set', 'influxdbInit.enabled=false'],
      /influxdbTokens\.values\.collector is required when influxdbInit\.enabled is false/,
    ],
    ['an Ingress without a host', ['--set', 'ingress.enabled=true'], /ingress\.enabled needs ingress\.grafana\.host/],
  ])('refuses %s with a message naming the value', async (_label, args, message) => {
    const result = await helmRun(['template', RELEASE, CHART, ...args]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });

  it.each(['scripts/build-helm.sh', 'deploy/helm/twc-dashboard/files/init-job.sh'])(
    '%s passes shellcheck, style checks included',
    async (script) => {
      const result = await run('shellcheck', ['--shell=bash', '--severity=style', script], { cwd: REPO_ROOT });
      expect(result.stdout + result.stderr).toBe('');
      expect(result.code).toBe(0);
    },
  );
});
