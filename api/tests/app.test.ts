import { describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';

describe('api app', () => {
  it('answers the liveness probe', async () => {
    const app = await buildApp();
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
    await app.close();
  });

  it('answers 404 for an unknown route', async () => {
    const app = await buildApp();
    const response = await app.inject({ method: 'GET', url: '/nope' });
    expect(response.statusCode).toBe(404);
    await app.close();
  });
});
