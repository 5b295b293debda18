// A fresh Google emulator for one spec. The start/stop logic lives in ./shared/emulators.cjs,
// shared with `npm test` (tools/scripts/test.mjs), which starts the run's shared pair.
import { DEFAULT_PROJECT_ID, startEmulator, type StartedEmulator } from './shared/emulators.cjs';

export interface EmulatorOptions {
  /** Project id the clients must use; default `saldo-test`. */
  projectId?: string;
  /** How long to wait for the emulator to answer; default 90 000 ms. */
  timeoutMs?: number;
  /** A fixed port of 127.0.0.1 (e.g. to restart an emulator where its clients expect it); default a free one. */
  port?: number;
}

export interface TestEmulator {
  /** `127.0.0.1:<port>`: pass it to the client (Pub/Sub `apiEndpoint`, Firestore `host` + `ssl: false`). */
  host: string;
  projectId: string;
  /** Environment for a child process, e.g. `{ PUBSUB_EMULATOR_HOST, PUBSUB_PROJECT_ID }`. */
  env: Record<string, string>;
  /** Log file of the emulator (under tmp/test-run-<id>/emulators/). */
  logFile: string;
  /** Stops the whole process group (gcloud wrapper and java child). Safe to call twice. */
  stop(): Promise<void>;
}

function toTestEmulator(started: StartedEmulator): TestEmulator {
  return {
    host: started.host,
    projectId: started.projectId,
    env: started.env,
    logFile: started.logFile,
    stop: started.stop,
  };
}

/**
 * Starts a Pub/Sub emulator of its own for a spec (emulator 0.8.20 can stop delivering on a
 * subscription whose subscriber was killed, so such specs must not share the run's emulator).
 */
export async function startPubSubEmulator(options: EmulatorOptions = {}): Promise<TestEmulator> {
  return toTestEmulator(
    await startEmulator('pubsub', {
      projectId: options.projectId ?? DEFAULT_PROJECT_ID,
      timeoutMs: options.timeoutMs,
      port: options.port,
    }),
  );
}

/**
 * Starts a Firestore emulator of its own for a spec. Note that the Firestore client prefers the
 * FIRESTORE_EMULATOR_HOST variable over its `host` setting: clear or override it in such a spec.
 */
export async function startFirestoreEmulator(options: EmulatorOptions = {}): Promise<TestEmulator> {
  return toTestEmulator(
    await startEmulator('firestore', {
      projectId: options.projectId ?? DEFAULT_PROJECT_ID,
      timeoutMs: options.timeoutMs,
      port: options.port,
    }),
  );
}
