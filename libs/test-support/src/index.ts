// @saldo/test-support: what integration and e2e specs need to talk to real services.
// `npm test` (tools/scripts/test.mjs) prepares the run: see its header for the environment it exports.
export { createTestDatabase, type TestDatabase } from './database';
export {
  startFirestoreEmulator,
  startPubSubEmulator,
  type EmulatorOptions,
  type TestEmulator,
} from './emulators';
export { freePort, waitFor, type WaitForOptions } from './shared/emulators.cjs';
export {
  startServiceProcess,
  checkHealth,
  type ServiceProcess,
  type ServiceProcessOptions,
} from './service-process';
export { listServicesByReflection } from './reflection';
// The real services as processes, for end-to-end specs: ledger, aggregator, a TransactionService client.
export * from './service-stack';
// A TCP proxy that refuses, resets or swallows connections on demand (dependency faults).
export { startTcpProxy, type TcpProxy, type ProxyMode } from './tcp-proxy';
