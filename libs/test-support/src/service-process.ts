// A real Saldo service (built JS in dist/out-tsc) as a child process of a spec: started on a
// port of its own, ready once its gRPC health service answers SERVING, stopped with SIGTERM and,
// after a grace period, SIGKILL. kill() is the crash (SIGKILL at once).
import { credentials, loadPackageDefinition, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';

export interface ServiceProcessOptions {
  /** A label for logs and errors, e.g. "wallet-ledger". */
  name: string;
  /** The script to run with node, relative to the workspace root or absolute. */
  script: string;
  args?: string[];
  /** Added to (and overriding) the spec's environment. */
  env?: Record<string, string>;
  /** host:port where the service's gRPC health service answers. */
  healthTarget: string;
  /** The health service name to wait for; '' = the server as a whole. */
  healthService?: string;
  /** How long to wait for SERVING; default SALDO_TEST_START_TIMEOUT_MS or 90 000 ms. */
  startTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL; default 10 000 ms. */
  stopGraceMs?: number;
}

export interface ServiceProcess {
  readonly name: string;
  readonly pid: number;
  /** File that receives the child's stdout and stderr. */
  readonly logFile: string;
  /** SIGTERM, then SIGKILL after the grace period; resolves once the process is gone. Safe to call twice. */
  stop(): Promise<void>;
  /** SIGKILL now (a crash); resolves once the process is gone. */
  kill(): Promise<void>;
  /** True until the process exits. */
  running(): boolean;
}

const ROOT = path.resolve(__dirname, '../../..');
const HEALTH_PROTO = require.resolve('grpc-health-check/proto/health/v1/health.proto');

type HealthClient = Client & {
  check(
    request: { service: string },
    options: { deadline: Date },
    callback: (error: ServiceError | null, response?: { status: string }) => void,
  ): void;
};

let healthCtor:
  (new (target: string, creds: ReturnType<typeof credentials.createInsecure>) => HealthClient) | undefined;

function healthClient(target: string): HealthClient {
  if (!healthCtor) {
    const definition = loadSync(HEALTH_PROTO, { keepCase: true, enums: String, defaults: true });
    const pkg = loadPackageDefinition(definition) as unknown as {
      grpc: { health: { v1: { Health: typeof healthCtor } } };
    };
    healthCtor = pkg.grpc.health.v1.Health;
  }
  return new (healthCtor as NonNullable<typeof healthCtor>)(target, credentials.createInsecure());
}

/** The service's health status, or undefined when it does not answer (yet). */
export function checkHealth(target: string, service = '', timeoutMs = 1_000): Promise<string | undefined> {
  const client = healthClient(target);
  return new Promise((resolve) => {
    client.check({ service }, { deadline: new Date(Date.now() + timeoutMs) }, (error, response) => {
      client.close();
      resolve(error ? undefined : response?.status);
    });
  });
}

function logDir(): string {
  const runId = process.env['SALDO_TEST_RUN_ID'];
  const dir = path.join(ROOT, 'tmp', runId ? `test-run-${runId}` : 'test-services', 'services');
  mkdirSync(dir, { recursive: true });
  return dir;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts the service and resolves once its health check says SERVING; fails with the log's tail otherwise. */
export async function startServiceProcess(options: ServiceProcessOptions): Promise<ServiceProcess> {
  const script = path.isAbsolute(options.script) ? options.script : path.join(ROOT, options.script);
  const logFile = path.join(
    logDir(),
    `${options.name}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.log`,
  );
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, [script, ...(options.args ?? [])], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const gone = exited(child).then(() => new Promise<void>((resolve) => log.end(resolve)));

  const stopGraceMs = options.stopGraceMs ?? 10_000;
  let stopping: Promise<void> | undefined;
  const handle: ServiceProcess = {
    name: options.name,
    pid: child.pid ?? -1,
    logFile,
    running: () => child.exitCode === null && child.signalCode === null,
    kill: async () => {
      if (handle.running()) child.kill('SIGKILL');
      await gone;
    },
    stop: () =>
      (stopping ??= (async () => {
        if (!handle.running()) return gone;
        child.kill('SIGTERM');
        const timer = setTimeout(() => handle.running() && child.kill('SIGKILL'), stopGraceMs);
        await gone;
        clearTimeout(timer);
      })()),
  };

  // SALDO_TEST_START_TIMEOUT_MS: more room on a machine shared by many test runs (default 90 s:
  // under load a service may need well over 30 s to start).
  const deadline =
    Date.now() + (options.startTimeoutMs ?? Number(process.env['SALDO_TEST_START_TIMEOUT_MS'] || 90_000));
  for (;;) {
    if (!handle.running()) {
      await gone;
      throw new Error(
        `${options.name} exited before it was SERVING (code ${child.exitCode}); log: ${logFile}\n${await tail(logFile)}`,
      );
    }
    if ((await checkHealth(options.healthTarget, options.healthService ?? '')) === 'SERVING') return handle;
    if (Date.now() > deadline) {
      await handle.stop();
      throw new Error(
        `${options.name} was not SERVING on ${options.healthTarget} in time; log: ${logFile}\n${await tail(logFile)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function tail(file: string, lines = 40): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').slice(-lines).join('\n');
}
