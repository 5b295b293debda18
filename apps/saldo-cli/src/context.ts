// Where `saldo` finds things: the workspace root, the local stack's secrets (.saldo/local.env,
// written by `npm start`), the API target and key. Flags win over the environment, the environment
// over local.env, local.env over the built-in local defaults.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError, type ParsedArgs } from './args';

export const DEFAULT_TARGET = '127.0.0.1:50051';
const DEFAULT_DEADLINE_MS = 15_000;

/** The workspace root: the nearest parent directory holding proto/saldo and package.json. */
export function workspaceRoot(): string {
  let dir = __dirname;
  for (let depth = 0; depth < 8; depth += 1) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'proto', 'saldo')))
      return dir;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the Saldo workspace (a directory with package.json and proto/saldo)');
}

/** KEY=value lines of an env file (values may be single-quoted); {} when the file is missing. */
export function readEnvFile(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const entries: Array<[string, string]> = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) entries.push([match[1] as string, (match[2] as string).replace(/^'(.*)'$/, '$1')]);
  }
  return Object.fromEntries(entries);
}

export interface CliContext {
  root: string;
  json: boolean;
  /** The local stack's secrets, when `npm start` wrote them. */
  localEnv: Record<string, string>;
  localEnvFile: string;
  /** process.env on top of local.env: what delegated CLIs and Pub/Sub see. */
  env: Record<string, string>;
  target: string;
  tls: boolean;
  deadlineMs: number;
  apiKey(): string;
}

export function createContext(args: ParsedArgs, processEnv: NodeJS.ProcessEnv = process.env): CliContext {
  const root = workspaceRoot();
  const stateDir = path.resolve(root, processEnv['SALDO_STATE_DIR'] || '.saldo');
  const localEnvFile = path.join(stateDir, 'local.env');
  const localEnv = readEnvFile(localEnvFile);
  const env: Record<string, string> = { ...localEnv };
  for (const [key, value] of Object.entries(processEnv))
    if (value !== undefined && value !== '') env[key] = value;

  const target =
    args.value('target') ??
    env['SALDO_TARGET'] ??
    (env['AGGREGATOR_GRPC_URL'] ? reachable(env['AGGREGATOR_GRPC_URL']) : DEFAULT_TARGET);
  if (!/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(target))
    throw new UsageError(`The API target must be host:port (e.g. ${DEFAULT_TARGET}); got "${target}".`);
  const deadlineRaw = args.value('deadline-ms');
  if (deadlineRaw !== undefined && (!/^[0-9]+$/.test(deadlineRaw) || Number(deadlineRaw) < 100))
    throw new UsageError(
      `--deadline-ms must be a whole number of milliseconds, at least 100; got "${deadlineRaw}".`,
    );

  return {
    root,
    json: args.has('json'),
    localEnv,
    localEnvFile,
    env,
    target,
    tls: args.has('tls') || env['SALDO_TLS'] === 'true',
    deadlineMs: deadlineRaw ? Number(deadlineRaw) : DEFAULT_DEADLINE_MS,
    apiKey: () => {
      const key = args.value('api-key') ?? env['SALDO_API_KEY'] ?? env['SALDO_DEMO_API_KEY'];
      if (!key) {
        throw new UsageError(
          `No API key: pass --api-key, set SALDO_API_KEY, or run \`npm start\` once so ${path.relative(process.cwd(), localEnvFile) || localEnvFile} holds the demo key.`,
        );
      }
      return key;
    },
  };
}

/** A bind address (0.0.0.0:50051) as an address to call (127.0.0.1:50051). */
function reachable(hostPort: string): string {
  return hostPort.replace(/^(0\.0\.0\.0|\[::\]|::):/, '127.0.0.1:');
}
