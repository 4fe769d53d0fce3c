import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  chargerDiscovery,
  EVSE_STATE_OPTIONS,
  PLAN_ENTITIES,
  priceDiscovery,
} from '../../src/homeassistant/discovery.js';
import { status } from './fixtures.js';

const SERIAL = 'PGT22130001';
const read = (name: string) => readFileSync(new URL(`../../../homeassistant/${name}`, import.meta.url), 'utf8');

// Home Assistant's `!secret name` tag: kept as a marker so the test can check where it is used.
const secretTag = { tag: '!secret', resolve: (name: string) => ({ secret: name }) };

type Entity = Record<string, unknown>;

const DISCOVERY_OPTIONS = {
  discoveryPrefix: 'homeassistant',
  topicRoot: 'twc',
  origin: { name: 'twc-dashboard', sw_version: '0' },
  withInfluxReadings: true,
};

function discoveryMessages() {
  return [...chargerDiscovery(DISCOVERY_OPTIONS, status(SERIAL, 'garage')), ...priceDiscovery(DISCOVERY_OPTIONS)];
}

/** The component of each discovered entity, from its discovery topic `<prefix>/<component>/<id>/config`. */
const discoveredComponents = new Map(
  discoveryMessages().map((message) => {
    const [, component, uniqueId] = message.topic.split('/');
    return [String(uniqueId), String(component)];
  }),
);

/** What discovery publishes for the default topic root and prefix, with InfluxDB readings on. */
function discoveryEntities(): Map<string, Entity> {
  const messages = discoveryMessages();
  return new Map(
    messages.map((message) => {
      const entity = JSON.parse(message.payload) as Entity;
      return [String(entity.unique_id), entity];
    }),
  );
}

const CLASS_FIELDS = ['device_class', 'state_class', 'unit_of_measurement', 'options', 'entity_category'] as const;

describe('homeassistant/mqtt_sensors.yaml', () => {
  const document = parse(read('mqtt_sensors.yaml').replaceAll('CHARGER_ID', SERIAL)) as {
    mqtt: Record<'sensor' | 'binary_sensor' | 'switch' | 'number' | 'select' | 'button', Entity[]>;
  };
  const manual = Object.values(document.mqtt).flat();
  const discovered = discoveryEntities();

  it('holds the same entities as discovery', () => {
    expect(manual.map((entity) => entity.unique_id).sort()).toEqual([...discovered.keys()].sort());
  });

  it('matches discovery entity by entity: component, topics, classes, units and templates', () => {
    const components = new Map<unknown, string>(
      Object.entries(document.mqtt).flatMap(([component, entities]) =>
        entities.map((entity): [unknown, string] => [entity.unique_id, component]),
      ),
    );
    for (const entity of manual) {
      const twin = discovered.get(String(entity.unique_id)) as Entity;
      const { device: _device, origin: _origin, name, ...wanted } = twin;
      const { name: manualName, ...got } = entity;
      expect(got, String(entity.unique_id)).toEqual(wanted);
      expect(String(manualName).endsWith(` ${String(name)}`), String(manualName)).toBe(true);
      expect(components.get(entity.unique_id)).toBe(discoveredComponents.get(String(entity.unique_id)));
    }
  });
});

describe('homeassistant/rest_sensors.yaml', () => {
  const document = parse(read('rest_sensors.yaml').replaceAll('CHARGER_ID', SERIAL), { customTags: [secretTag] }) as {
    rest: Array<{ resource: string; headers: Record<string, unknown>; sensor?: Entity[]; binary_sensor?: Entity[] }>;
  };
  const discovered = discoveryEntities();

  it('polls the charger status, the current price and the forecast, with the bearer token from secrets', () => {
    expect(document.rest.map((resource) => new URL(resource.resource).pathname)).toEqual([
      `/api/v1/chargers/${SERIAL}/status`,
      '/api/v1/price/current',
      '/api/v1/price/forecast',
    ]);
    for (const resource of document.rest) {
      expect(resource.headers).toEqual({ Authorization: { secret: 'twc_api_authorization' } });
    }
  });

  it('names discovery entities, with the same classes and units', () => {
    const entities = document.rest.flatMap((resource) => [
      ...(resource.sensor ?? []),
      ...(resource.binary_sensor ?? []),
    ]);
    expect(entities.length).toBeGreaterThanOrEqual(12);
    for (const entity of entities) {
      const id = String(entity.unique_id).replace(/^twc_rest_/, 'twc_');
      const twin = discovered.get(id);
      expect(twin, id).toBeDefined();
      for (const field of CLASS_FIELDS) {
        // A REST sensor cannot carry last_reset, so its cost has no state_class (monetary allows none).
        if (field === 'state_class' && id.endsWith('_session_cost')) {
          expect(entity.state_class).toBeUndefined();
          continue;
        }
        expect(entity[field], `${id} ${field}`).toEqual(twin?.[field]);
      }
      expect(String(entity.name).endsWith(` ${String(twin?.name)}`), String(entity.name)).toBe(true);
    }
  });

  it('lists every EVSE state name as an option', () => {
    const state = document.rest[0]?.sensor?.find((entity) => String(entity.unique_id).endsWith('_state'));
    expect(state?.options).toEqual([...EVSE_STATE_OPTIONS]);
  });

  it('leaves out only what the API does not serve', () => {
    const served = new Set(
      document.rest
        .flatMap((resource) => [...(resource.sensor ?? []), ...(resource.binary_sensor ?? [])])
        .map((entity) => String(entity.unique_id).replace(/^twc_rest_/, 'twc_')),
    );
    const missing = [...discovered.keys()].filter((id) => !served.has(id)).sort();
    // GET /price/forecast gives the current hour's running average, not its day-ahead price.
    // Smart charging is MQTT-only: its controls publish commands, which a REST sensor cannot.
    expect(missing).toEqual(
      [
        'twc_comed_price_all_in_price',
        'twc_comed_price_day_ahead_price',
        `twc_${SERIAL}_lifetime_energy`,
        `twc_${SERIAL}_wifi_signal`,
        ...PLAN_ENTITIES.map((entity) => `twc_${SERIAL}_${entity.key}`),
      ].sort(),
    );
  });
});

describe('homeassistant/smart_charging_automation.yaml', () => {
  const [automation] = parse(read('smart_charging_automation.yaml')) as Array<{
    triggers: Array<{ trigger: string; entity_id: string; to: string; id: string }>;
    actions: Array<{
      choose: Array<{
        conditions: Array<{ id: string[] | string }>;
        sequence: Array<{ action: string; target: object }>;
      }>;
    }>;
  }>;
  const allowed = discoveryEntities().get(`twc_${SERIAL}_charging_allowed`);

  it("follows the bridge's Charging allowed now, by the entity id Home Assistant derives from its name", () => {
    expect(allowed?.name).toBe('Charging allowed now');
    const entityId = 'binary_sensor.CHARGER_NAME_charging_allowed_now';
    expect(automation?.triggers.map((trigger) => [trigger.entity_id, trigger.to])).toEqual([
      [entityId, 'on'],
      [entityId, 'off'],
      [entityId, 'unavailable'],
    ]);
  });

  it('turns charging on when allowed or when the planner is away, off when told to wait', () => {
    const branches = automation?.actions[0]?.choose.map((branch) => [
      [branch.conditions[0]?.id].flat(),
      branch.sequence.map((step) => step.action),
    ]);
    expect(branches).toEqual([
      [['allowed', 'planner_away'], ['switch.turn_on']],
      [['wait'], ['switch.turn_off']],
    ]);
  });
});
