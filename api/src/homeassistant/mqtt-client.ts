/**
 * The bridge's connection to the MQTT broker: retained qos-1 publications,
 * the bridge's availability as its last will, and the two messages it
 * listens to.
 *
 * - `<discovery prefix>/status`: Home Assistant announces `online` there
 *   when it (re)starts, and everything should be published again. Several
 *   announcements within `birthDebounceMs` make one re-publication: anyone
 *   allowed to publish on the broker could otherwise make the bridge send
 *   every config and state once per message. And at most a few a minute:
 *   announcements spaced past the debounce make one more at the minute's end.
 * - its own availability topic. Whichever instance of the bridge says
 *   `offline` last wins the retained message, and an instance going away
 *   says it on its way out (a clean disconnect fires no last will), or the
 *   broker says it for a connection that died, possibly long after a newer
 *   instance came up (an upgrade, a rolling restart). So while the bridge
 *   runs, an `offline` it did not say itself is answered with `online`
 *   (after `availabilityDebounceMs`, once for a burst).
 * - the command topics (`commandFilter`), where Home Assistant's controls
 *   publish. A command delivered as a retained message is left alone: it was
 *   sent before this connection, perhaps long ago, and pressing "Charge now"
 *   again at every reconnection is not what anyone asked for.
 *
 * The factory only stores its options; the connection starts in `start()`.
 */
import type { Logger } from '@twc/runtime/logger';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { HomeAssistantConfig } from './config.js';
import { OFFLINE, ONLINE } from './discovery.js';

export interface BridgeMqttOptions {
  mqtt: HomeAssistantConfig['mqtt'];
  /** The bridge's availability topic, its last will. */
  availabilityTopic: string;
  /** Where Home Assistant announces itself. */
  birthTopic: string;
  logger: Logger;
  /** Milliseconds between reconnection attempts. */
  reconnectMs?: number;
  /** Announcements of Home Assistant within this window make one re-publication. */
  birthDebounceMs?: number;
  /**
   * At most `birthResyncsPerWindow` re-publications per `birthResyncWindowMs`
   * (3 per minute); announcements past that make one more at the window's end.
   */
  birthResyncWindowMs?: number;
  birthResyncsPerWindow?: number;
  /** How long after an `offline` on the availability topic `online` is said again. */
  availabilityDebounceMs?: number;
  /** The command topics to listen to, one MQTT filter (`+` wildcards only). */
  commandFilter?: string;
}

export interface BridgeMqttEvents {
  /** Connected to the broker, the first time or again: publish everything. */
  connected(): void;
  /** Home Assistant announced itself (once per burst): publish everything. */
  homeAssistantOnline(): void;
  /** A message on a command topic, published while the bridge was connected. */
  command?(topic: string, payload: string): void;
}

export interface BridgeMqttStats {
  connected: boolean;
  /** Connections to the broker, the first one included. */
  connects: number;
  /** `online` messages of Home Assistant seen, each one counted. */
  birthAnnouncements: number;
  /** Times `online` was said again after another instance's `offline` or a late last will. */
  availabilityRepublishes: number;
  /** Retained messages on command topics, left alone. */
  retainedCommands: number;
  mqttErrors: number;
}

export interface BridgeMqttClient {
  start(events: BridgeMqttEvents): void;
  connected(): boolean;
  /** A retained qos-1 publication; resolves false when not connected or not acknowledged. */
  publish(topic: string, payload: string): Promise<boolean>;
  /** Stops answering `offline`, says `offline` and disconnects. */
  stop(): Promise<void>;
  stats(): BridgeMqttStats;
}

const QOS = 1 as const;

/** Whether `topic` matches an MQTT filter with `+` (one level) wildcards. */
export function matchesFilter(filter: string, topic: string): boolean {
  const wanted = filter.split('/');
  const levels = topic.split('/');
  return wanted.length === levels.length && wanted.every((level, index) => level === '+' || level === levels[index]);
}

export function createBridgeMqttClient(options: BridgeMqttOptions): BridgeMqttClient {
  const log = options.logger.child({ module: 'mqtt-client' });
  const birthDebounceMs = options.birthDebounceMs ?? 1000;
  const birthResyncWindowMs = options.birthResyncWindowMs ?? 60_000;
  const birthResyncsPerWindow = options.birthResyncsPerWindow ?? 3;
  /** When the re-publications of the current window were made. */
  let resyncTimesMs: number[] = [];
  const availabilityDebounceMs = options.availabilityDebounceMs ?? 250;
  const stats = { connects: 0, birthAnnouncements: 0, availabilityRepublishes: 0, retainedCommands: 0, mqttErrors: 0 };
  let client: MqttClient | undefined;
  let events: BridgeMqttEvents | undefined;
  let running = false;
  let down = false;
  let birthTimer: NodeJS.Timeout | undefined;
  let availabilityTimer: NodeJS.Timeout | undefined;
  /** The latest payload seen on the availability topic. */
  let availabilitySeen: string | undefined;

  const connected = () => client?.connected === true;

  function sayOnline(): void {
    client?.publish(options.availabilityTopic, ONLINE, { qos: QOS, retain: true }, (error) => {
      if (error) stats.mqttErrors++;
    });
  }

  function onConnect(): void {
    stats.connects++;
    if (down) log.info('MQTT broker reachable again');
    down = false;
    sayOnline();
    // After `online`: the retained message delivered on subscribing is then ours, unless someone said otherwise since.
    const topics = [options.birthTopic, options.availabilityTopic];
    if (options.commandFilter !== undefined) topics.push(options.commandFilter);
    client?.subscribe(topics, { qos: QOS }, (error) => {
      if (error) stats.mqttErrors++;
    });
    events?.connected();
  }

  /**
   * Each re-publication is about 55 messages per charger and price device: a
   * client announcing `online` every couple of seconds, past the debounce,
   * must not make the bridge flood the broker. A restarting Home Assistant
   * announces itself once.
   */
  function onBirth(): void {
    stats.birthAnnouncements++;
    if (birthTimer) return;
    const nowMs = Date.now();
    resyncTimesMs = resyncTimesMs.filter((atMs) => nowMs - atMs < birthResyncWindowMs);
    const waitMs =
      resyncTimesMs.length < birthResyncsPerWindow
        ? birthDebounceMs
        : Math.max(birthDebounceMs, (resyncTimesMs[0] as number) + birthResyncWindowMs - nowMs);
    birthTimer = setTimeout(() => {
      birthTimer = undefined;
      resyncTimesMs.push(Date.now());
      if (running) events?.homeAssistantOnline();
    }, waitMs);
  }

  function onAvailability(payload: string): void {
    availabilitySeen = payload;
    if (payload !== OFFLINE || availabilityTimer) return;
    availabilityTimer = setTimeout(() => {
      availabilityTimer = undefined;
      // Another `online` may have arrived meanwhile (a newer instance of ours); then there is nothing to answer.
      if (!running || !connected() || availabilitySeen !== OFFLINE) return;
      stats.availabilityRepublishes++;
      log.info('bridge availability set to offline by another client; publishing online again');
      sayOnline();
    }, availabilityDebounceMs);
  }

  function onMessage(topic: string, payload: Buffer, packet: { retain: boolean }): void {
    if (!running) return;
    if (topic === options.birthTopic && payload.toString() === ONLINE) onBirth();
    else if (topic === options.availabilityTopic) onAvailability(payload.toString());
    else if (options.commandFilter !== undefined && matchesFilter(options.commandFilter, topic)) {
      if (packet.retain) stats.retainedCommands++;
      else events?.command?.(topic, payload.toString());
    }
  }

  function onTroubled(error?: Error): void {
    if (error) stats.mqttErrors++;
    if (!down && running) log.warn({ err: error?.message }, 'MQTT broker unreachable; reconnecting');
    down = true;
  }

  return {
    start(handlers) {
      if (running) return;
      running = true;
      events = handlers;
      const settings = options.mqtt;
      const mqttOptions: IClientOptions = {
        clientId: `twc-ha-bridge-${Math.random().toString(16).slice(2, 10)}`,
        reconnectPeriod: options.reconnectMs ?? 2000,
        connectTimeout: 10_000,
        will: { topic: options.availabilityTopic, payload: Buffer.from(OFFLINE), qos: QOS, retain: true },
        rejectUnauthorized: settings.rejectUnauthorized,
      };
      if (settings.username !== undefined) mqttOptions.username = settings.username;
      if (settings.password !== undefined) mqttOptions.password = settings.password;
      if (settings.ca !== undefined) mqttOptions.ca = settings.ca;
      client = mqtt.connect(settings.url, mqttOptions);
      client.on('connect', onConnect);
      client.on('message', onMessage);
      client.on('error', onTroubled);
      client.on('offline', () => onTroubled());
    },
    connected,
    publish(topic, payload) {
      const mqttClient = client;
      if (!mqttClient || !connected()) return Promise.resolve(false);
      return new Promise((resolve) => {
        mqttClient.publish(topic, payload, { qos: QOS, retain: true }, (error) => {
          if (error) stats.mqttErrors++;
          resolve(!error);
        });
      });
    },
    async stop() {
      if (!running) return;
      // First: this instance's own `offline` must not be answered.
      running = false;
      clearTimeout(birthTimer);
      clearTimeout(availabilityTimer);
      birthTimer = undefined;
      availabilityTimer = undefined;
      const mqttClient = client;
      client = undefined;
      if (!mqttClient) return;
      // A clean disconnect does not fire the last will: say offline first.
      if (mqttClient.connected) {
        await mqttClient.publishAsync(options.availabilityTopic, OFFLINE, { qos: QOS, retain: true }).catch(() => {});
      }
      await mqttClient.endAsync().catch(() => mqttClient.end(true));
    },
    stats: () => ({ ...stats, connected: connected() }),
  };
}
