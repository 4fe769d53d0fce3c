/** See advice-only.ts: the plan is advice only, nobody commands the car. */
export { createNoneController } from './advice-only.js';
