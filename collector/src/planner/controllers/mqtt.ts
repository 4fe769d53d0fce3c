/** See advice-only.ts: Home Assistant commands the car from the published plan. */
export { createMqttController } from './advice-only.js';
