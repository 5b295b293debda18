// Types for emulators.cjs (consumed by @saldo/test-support).
export type EmulatorKind = 'pubsub' | 'firestore';

export interface StartEmulatorOptions {
  projectId?: string;
  logDir?: string;
  timeoutMs?: number;
  ownerPid?: number;
  /** Listen on this port of 127.0.0.1 instead of a free one (tried once). */
  port?: number;
}

export interface StartedEmulator {
  kind: EmulatorKind;
  /** host:port, the value for PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST */
  host: string;
  port: number;
  projectId: string;
  /** pid of the group leader, also the process group id */
  pid: number;
  logFile: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  what?: string;
}

export const DEFAULT_PROJECT_ID: string;
export function freePort(): Promise<number>;
export function waitFor<T>(
  predicate: () => T | Promise<T>,
  options?: WaitForOptions,
): Promise<NonNullable<T>>;
export function answersOk(hostPort: string, timeoutMs?: number): Promise<boolean>;
export function portClosed(port: number, host?: string): Promise<boolean>;
export function runDirFor(runId: string | undefined): string;
export function startEmulator(kind: EmulatorKind, options?: StartEmulatorOptions): Promise<StartedEmulator>;
/** Detached watchdog that kills process group `pgid` once `ownerPid` is gone. */
export function watchGroup(ownerPid: number, pgid: number): import('node:child_process').ChildProcess;
export function groupAlive(pgid: number): boolean;
/** SIGTERM to the group, SIGKILL after a grace period; resolves once the group is gone. */
export function stopGroup(pgid: number): Promise<void>;
/** PUTs security rules into a running Firestore emulator for one project. */
export function loadFirestoreRules(
  hostPort: string,
  projectId: string,
  rulesText: string,
  timeoutMs?: number,
): Promise<void>;
