import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';

export async function registerWebsocket(app: FastifyInstance): Promise<void> {
  // Clients only ever send a small subscribe message.
  await app.register(websocket, { options: { maxPayload: 4096 } });
}
