import { buildApp } from './app.js';

const port = Number(process.env.API_PORT ?? 8000);
const app = await buildApp({ logger: { level: 'info' } });

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

await app.listen({ host: '0.0.0.0', port });
