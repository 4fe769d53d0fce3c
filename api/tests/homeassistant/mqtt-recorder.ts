import mqtt, { type MqttClient } from 'mqtt';

export interface RecordedMessage {
  topic: string;
  payload: string;
  retain: boolean;
  qos: number;
  atMs: number;
}

/**
 * A Home Assistant stand-in on the real broker: records every message under
 * the given topic filters. MQTT 5 with "retain as published", so the retain
 * flag seen is the publisher's (MQTT 3.1.1 brokers clear it on live delivery).
 */
export class MqttRecorder {
  readonly messages: RecordedMessage[] = [];
  private constructor(readonly client: MqttClient) {}

  static async connect(url: string, filters: string[]): Promise<MqttRecorder> {
    const client = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 500 });
    const recorder = new MqttRecorder(client);
    client.on('message', (topic, payload, packet) => {
      recorder.messages.push({
        topic,
        payload: payload.toString(),
        retain: packet.retain,
        qos: packet.qos,
        atMs: Date.now(),
      });
    });
    await client.subscribeAsync(
      filters
        .map((filter) => ({ topic: filter, qos: 1 as const, rap: true }))
        .reduce((all, { topic, ...options }) => Object.assign(all, { [topic]: options }), {}),
    );
    return recorder;
  }

  clear(): void {
    this.messages.length = 0;
  }

  on(topic: string): RecordedMessage[] {
    return this.messages.filter((message) => message.topic === topic);
  }

  latest(topic: string): RecordedMessage | undefined {
    return this.on(topic).at(-1);
  }

  /** Waits until `check` passes, polling the recorded messages. */
  async waitFor<T>(check: () => T | undefined | false, timeoutMs = 10_000, what = 'messages'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = check();
      if (result !== undefined && result !== false) return result;
      if (Date.now() > deadline) {
        const seen = this.messages.map((message) => `${message.topic}=${message.payload.slice(0, 60)}`).join('\n');
        throw new Error(`timed out waiting for ${what}; seen:\n${seen}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Waits for a message on `topic` whose payload is `payload`. */
  waitForPayload(topic: string, payload: string, timeoutMs?: number): Promise<RecordedMessage> {
    return this.waitFor(
      () => this.on(topic).find((message) => message.payload === payload),
      timeoutMs,
      `${topic} = ${JSON.stringify(payload)}`,
    );
  }

  async publish(topic: string, payload: string): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1 });
  }

  async stop(): Promise<void> {
    await this.client.endAsync();
  }
}

/** Polls an async condition until it holds. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if (result !== undefined && result !== false) return result;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
