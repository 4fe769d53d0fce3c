import { describe, expect, it } from 'vitest';
import { startHealthServer } from '../src/health-server.js';

describe('GET /health', () => {
  it("answers the service's status, 200 while healthy and 503 while not, on loopback only", async () => {
    let healthy = false;
    const server = await startHealthServer(
      0,
      () => ({ polls: 3 }),
      () => healthy,
    );
    try {
      const url = `http://127.0.0.1:${server.port}/health`;
      const before = await fetch(url);
      expect(before.status).toBe(503);
      expect(await before.json()).toEqual({ status: 'unhealthy', polls: 3 });
      healthy = true;
      const after = await fetch(url);
      expect(after.status).toBe(200);
      expect(await after.json()).toEqual({ status: 'ok', polls: 3 });
      expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
