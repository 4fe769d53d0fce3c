import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local HTTP server standing in for Slack, Discord, Pushover or a webhook receiver. */
export interface Receiver {
  url: string;
  bodies: unknown[];
  status: number;
  close(): Promise<void>;
}

async function read(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startReceiver(): Promise<Receiver> {
  const receiver: Receiver = { url: '', bodies: [], status: 200, close: async () => {} };
  const server: Server = createServer((request, response) => {
    read(request).then((text) => {
      receiver.bodies.push(JSON.parse(text));
      response.writeHead(receiver.status, { 'content-type': 'application/json' });
      response.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  receiver.close = () => new Promise((resolve) => server.close(() => resolve()));
  return receiver;
}
