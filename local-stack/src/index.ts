export { httpOk, type NodeProcessOptions, nodeProcess, type ProcessHandle, REPO_ROOT, TSX_ARGS } from './processes.js';
export {
  type InfluxSetup,
  type LocalServers,
  SERVICES,
  type ServerName,
  type Service,
  type StackServers,
  startLocalServers,
} from './servers.js';
export { SERVICE_SCRIPTS, type ServiceOptions, serviceProcess } from './services.js';
export type { SimCarService, SimCharger, SimTeslaService, SimulationOptions } from './simulation.js';
export { type LocalStack, type LocalStackOptions, type Simulation, startLocalStack } from './stack.js';
