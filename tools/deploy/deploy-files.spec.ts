/* eslint-disable @typescript-eslint/no-explicit-any -- parsed YAML is walked as plain data */
// Static checks of docker/, k8s/ and .gitlab-ci.yml (there is no Docker engine or cluster here).
// Every fact is taken from the apps themselves: their config schemas (variable names, defaults,
// ports), their proto services (health names), the HTTP paths the observability lib serves, the
// files that exist. Renaming a variable, moving a port or deleting a file breaks a test here.
import { consoleConfigSchema } from '../../apps/console/src/config';
import { erpSyncConfigSchema } from '../../apps/erp-sync/src/config';
import { aggregatorConfigSchema } from '../../apps/transaction-aggregator/src/config';
import { ledgerConfigSchema } from '../../apps/wallet-ledger/src/config';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { interpolateDocument, InterpolationError } from './compose-interpolation';
import type { z } from 'zod';

const ROOT = path.resolve(__dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const exists = (file: string) => fs.existsSync(path.join(ROOT, file));

type Schema = z.ZodObject<z.ZodRawShape>;

interface AppFacts {
  app: string;
  schema: Schema;
  /** gRPC apps: the variable holding the listen address, the service served, its .proto. */
  grpc?: { variable: string; service: string; proto: string };
  /** The variable of the HTTP /metrics /healthz /readyz port, for apps that serve it. */
  httpPortVariable?: string;
  /** The variable of a public webhook port (vendors call it from outside; never probed). */
  webhookPortVariable?: string;
  /** The variable of a public web port (people's browsers; never probed). */
  webPortVariable?: string;
  /** The variable of the public HTTP door (Connect protocol: Connect JSON, gRPC-Web, gRPC). */
  connectPortVariable?: string;
  /** hpa: scales out behind an HPA; single: exactly one instance (per-process vendor limits). */
  scaling: 'hpa' | 'single';
}

const APPS: AppFacts[] = [
  {
    app: 'wallet-ledger',
    schema: ledgerConfigSchema,
    grpc: {
      variable: 'LEDGER_GRPC_URL',
      service: 'saldo.ledger.v1.LedgerService',
      proto: 'proto/saldo/ledger/v1/ledger.proto',
    },
    httpPortVariable: 'LEDGER_HTTP_PORT',
    scaling: 'hpa',
  },
  {
    app: 'transaction-aggregator',
    schema: aggregatorConfigSchema,
    grpc: {
      variable: 'AGGREGATOR_GRPC_URL',
      service: 'saldo.transaction.v1.TransactionService',
      proto: 'proto/saldo/transaction/v1/transaction.proto',
    },
    httpPortVariable: 'AGGREGATOR_HTTP_PORT',
    connectPortVariable: 'AGGREGATOR_CONNECT_PORT',
    scaling: 'hpa',
  },
  {
    app: 'erp-sync',
    schema: erpSyncConfigSchema,
    httpPortVariable: 'ERP_SYNC_HTTP_PORT',
    webhookPortVariable: 'ERP_SYNC_WEBHOOK_PORT',
    scaling: 'single',
  },
  {
    app: 'console',
    schema: consoleConfigSchema,
    httpPortVariable: 'CONSOLE_HTTP_PORT',
    webPortVariable: 'CONSOLE_PORT',
    scaling: 'hpa',
  },
];
const grpcOf = (facts: AppFacts) => {
  if (!facts.grpc) throw new Error(`${facts.app} serves no gRPC`);
  return facts.grpc;
};
/** The ports an app listens on with this environment lookup (schema defaults otherwise), by port name. */
function appPorts(
  facts: AppFacts,
  value: (name: string) => string | undefined = () => undefined,
): Map<string, number> {
  const effective = (name: string) => value(name) ?? String(schemaDefault(facts.schema, name));
  const ports = new Map<string, number>();
  if (facts.grpc) ports.set('grpc', portOf(effective(facts.grpc.variable)));
  if (facts.httpPortVariable) ports.set('http', Number(effective(facts.httpPortVariable)));
  if (facts.webhookPortVariable) ports.set('webhook', Number(effective(facts.webhookPortVariable)));
  if (facts.webPortVariable) ports.set('web', Number(effective(facts.webPortVariable)));
  if (facts.connectPortVariable) ports.set('connect', Number(effective(facts.connectPortVariable)));
  return ports;
}
const appFacts = (app: string): AppFacts => {
  const facts = APPS.find((a) => a.app === app);
  if (!facts) throw new Error(`no app "${app}" (known: ${APPS.map((a) => a.app).join(', ')})`);
  return facts;
};

/**
 * Variables the apps' schemas do not list because a library reads them, with where. Anything
 * else a manifest sets must be in the app's schema.
 */
const LIBRARY_VARIABLES: Record<string, string> = {
  GOOGLE_CLOUD_PROJECT:
    'Google client libraries (the aggregator builds its PubSub client without a projectId)',
  PUBSUB_EMULATOR_HOST: '@google-cloud/pubsub',
  FIRESTORE_EMULATOR_HOST: '@google-cloud/firestore',
  METADATA_SERVER_DETECTION: 'gcp-metadata (no GCE metadata probing outside Google Cloud)',
};

/** Variables whose values are secrets (or may hold passwords): only ever from a Secret. */
const mustBeSecret = (name: string) =>
  /(TOKEN|SECRET|PASSWORD|KEY|CREDENTIAL)/.test(name) || ['DATABASE_URL', 'REDIS_URL'].includes(name);

/** What the schema gives a variable when it is not set (undefined when it is required). */
function schemaDefault(schema: Schema, name: string): unknown {
  const field = schema.shape[name] as z.ZodType | undefined;
  if (!field) throw new Error(`${name} is not in the schema`);
  const result = field.safeParse(undefined);
  return result.success ? result.data : undefined;
}
/** Variables without a default that must be set (optional ones parse as undefined and are not). */
const requiredVariables = (schema: Schema) =>
  Object.keys(schema.shape).filter((name) => !(schema.shape[name] as z.ZodType).safeParse(undefined).success);
const portOf = (hostPort: string) => Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));

/** Checks one variable's value against the app's own schema (what the app would do at start). */
function expectValid(facts: AppFacts, name: string, value: string, where: string): void {
  const field = facts.schema.shape[name] as z.ZodType | undefined;
  if (!field) {
    expect({
      where,
      variable: name,
      problem: `not in ${facts.app}'s config schema nor a library variable`,
    }).toBeUndefined();
    return;
  }
  const result = field.safeParse(value);
  expect({ where, variable: name, value, ok: result.success }).toEqual({
    where,
    variable: name,
    value,
    ok: true,
  });
}

function checkVariable(facts: AppFacts, name: string, value: string | undefined, where: string): void {
  if (name in LIBRARY_VARIABLES) return;
  if (!(name in facts.schema.shape)) {
    expect({
      where,
      variable: name,
      problem: `not in ${facts.app}'s config schema nor a library variable`,
    }).toBeUndefined();
  }
  if (value !== undefined) expectValid(facts, name, value, where);
}

// ---------------------------------------------------------------------------------------------
// Facts from the code

/** The app's production sources (no specs). */
function sourcesOf(app: string, dir = `apps/${app}/src`): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourcesOf(app, file);
    return /(?<!spec)\.ts$/.test(entry.name) ? [file] : [];
  });
}

const HTTP_PATHS = (() => {
  const server = read('libs/infra/observability/src/http-server.ts');
  return ['/metrics', '/healthz', '/readyz'].filter((p) => server.includes(`case '${p}':`));
})();

function protoDeclares(facts: AppFacts): boolean {
  const { proto, service: fullName } = grpcOf(facts);
  const text = read(proto);
  const pkg = fullName.slice(0, fullName.lastIndexOf('.'));
  const service = fullName.slice(pkg.length + 1);
  return text.includes(`package ${pkg};`) && new RegExp(`\\bservice ${service} \\{`).test(text);
}

describe('facts the deployment files are checked against', () => {
  it.each(APPS.map((a) => [a.app, a] as const))(
    '%s: proto service, entry points and config schema',
    (_app, facts) => {
      if (facts.grpc) expect(protoDeclares(facts)).toBe(true);
      if (facts.grpc) expect(typeof schemaDefault(facts.schema, facts.grpc.variable)).toBe('string');
      if (facts.httpPortVariable)
        expect(sourcesOf(facts.app).some((file) => read(file).includes('startObservabilityServer('))).toBe(
          true,
        );
      if (facts.httpPortVariable)
        expect(typeof schemaDefault(facts.schema, facts.httpPortVariable)).toBe('number');
      if (facts.webhookPortVariable) {
        expect(sourcesOf(facts.app).some((file) => read(file).includes('startWebhookServer('))).toBe(true);
        expect(schemaDefault(facts.schema, facts.webhookPortVariable)).toEqual(expect.any(Number));
        expect(schemaDefault(facts.schema, facts.webhookPortVariable)).not.toBe(0); // 0 = a random port
      }
      if (facts.webPortVariable) {
        expect(schemaDefault(facts.schema, facts.webPortVariable)).toEqual(expect.any(Number));
        expect(schemaDefault(facts.schema, facts.webPortVariable)).not.toBe(0);
      }
      if (facts.connectPortVariable) {
        expect(sourcesOf(facts.app).some((file) => read(file).includes('startConnectDoor('))).toBe(true);
        expect(schemaDefault(facts.schema, facts.connectPortVariable)).toEqual(expect.any(Number));
        expect(schemaDefault(facts.schema, facts.connectPortVariable)).not.toBe(0); // 0 = a random port
      }
      expect(facts.grpc ?? facts.httpPortVariable).toBeDefined();
      expect(exists(`apps/${facts.app}/src/main.ts`)).toBe(true);
      expect(exists(`apps/${facts.app}/src/cli.ts`)).toBe(true);
      expect(read(`apps/${facts.app}/src/cli.ts`)).toMatch(/['"]migrate['"]/);
    },
  );
  it('the observability lib serves /metrics, /healthz and /readyz', () => {
    expect(HTTP_PATHS).toEqual(['/metrics', '/healthz', '/readyz']);
  });
});

// ---------------------------------------------------------------------------------------------
// docker/

interface Dockerfile {
  lines: string[];
  stages: { from: string; name?: string; lines: string[] }[];
  args: Record<string, string>;
}

function parseDockerfile(file: string): Dockerfile {
  const lines = read(file)
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: Dockerfile['stages'] = [];
  for (const line of lines) {
    const [instruction, ...rest] = line.split(/\s+/);
    if (instruction === 'ARG' && stages.length === 0) {
      const [name, value = ''] = (rest[0] ?? '').split('=');
      args[name as string] = value;
    } else if (instruction === 'FROM') {
      const from = (rest[0] ?? '').replace(/^\$\{(\w+)\}$/, (_m, name: string) => args[name] ?? '');
      stages.push({ from, name: rest[2], lines: [] });
    } else stages.at(-1)?.lines.push(line);
  }
  return { lines, stages, args };
}

const dockerfileOf = (app: string) => `docker/${app}.Dockerfile`;
const execForm = (line: string) => JSON.parse(line.slice(line.indexOf('['))) as string[];

describe('docker/', () => {
  const dockerfiles = fs.readdirSync(path.join(ROOT, 'docker')).filter((f) => f.endsWith('.Dockerfile'));

  it('has one Dockerfile per app with a main.ts, and none for anything else', () => {
    const apps = fs.readdirSync(path.join(ROOT, 'apps')).filter((app) => exists(`apps/${app}/src/main.ts`));
    expect(dockerfiles.map((f) => f.replace(/\.Dockerfile$/, '')).sort()).toEqual(apps.sort());
  });

  describe.each(APPS.map((a) => [a.app, a] as const))('%s image', (app, facts) => {
    const file = dockerfileOf(app);
    const docker = parseDockerfile(file);
    const final = docker.stages.at(-1) as Dockerfile['stages'][number];

    it('is multi-stage on Node 22 LTS, production dependencies only, never npm ci', () => {
      expect(docker.stages.length).toBeGreaterThanOrEqual(2);
      for (const stage of docker.stages) expect(stage.from).toMatch(/^node:22(\.|-|$)/);
      expect(docker.lines.join('\n')).not.toMatch(/\bnpm ci\b/);
      expect(docker.lines.some((l) => /^RUN npm install --omit=dev --no-audit --no-fund\b/.test(l))).toBe(
        true,
      );
      const copiedModules = final.lines.filter((l) => /^COPY .*node_modules/.test(l));
      expect(copiedModules).toHaveLength(1);
      const fromStage = (copiedModules[0] as string).match(/--from=(\S+)/)?.[1];
      const depsStage = docker.stages.find((s) => s.name === fromStage);
      expect(depsStage?.lines.some((l) => l.includes('--omit=dev'))).toBe(true);
    });

    it("runs as a non-root user, the app's built main.js", () => {
      const users = final.lines.filter((l) => l.startsWith('USER '));
      expect(users).toHaveLength(1);
      expect(users[0]).not.toMatch(/^USER (root|0)(:|$)/);
      const cmd = final.lines.find((l) => l.startsWith('CMD '));
      expect(execForm(cmd as string)).toEqual(['node', `dist/out-tsc/apps/${app}/src/main.js`]);
      // The runtime stage copies what main.js needs: the app's and the libs' output, and proto/.
      expect(final.lines).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            new RegExp(`^COPY --from=\\w+ /app/dist/out-tsc/apps/${app} dist/out-tsc/apps/${app}$`),
          ),
          expect.stringMatching(/^COPY --from=\w+ \/app\/dist\/out-tsc\/libs dist\/out-tsc\/libs$/),
          'COPY proto proto',
        ]),
      );
    });

    it('copies only files that exist, and .dockerignore lets them through', () => {
      const ignored = read('.dockerignore')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'));
      for (const line of docker.lines.filter((l) => l.startsWith('COPY ') && !l.includes('--from='))) {
        const parts = line
          .split(/\s+/)
          .slice(1)
          .filter((p) => !p.startsWith('--'));
        for (const source of parts.slice(0, -1)) {
          expect({ line, source, exists: exists(source) }).toEqual({ line, source, exists: true });
          expect({
            source,
            ignoredBy: ignored.filter((pattern) => pattern === source || source.startsWith(`${pattern}/`)),
          }).toEqual({ source, ignoredBy: [] });
        }
      }
      expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '.git', '.saldo', 'dist']));
    });

    it('exposes the ports the app listens on by default and checks its health (gRPC health service, else /healthz)', () => {
      const expose = final.lines
        .find((l) => l.startsWith('EXPOSE '))
        ?.split(/\s+/)
        .slice(1)
        .map(Number);
      expect(expose).toEqual([...appPorts(facts).values()]);

      const healthcheck = final.lines.find((l) => l.startsWith('HEALTHCHECK '));
      const command = execForm(healthcheck?.slice(healthcheck.indexOf('CMD ')) ?? 'CMD []');
      const expected = facts.grpc
        ? ['grpc', facts.grpc.variable, schemaDefault(facts.schema, facts.grpc.variable), facts.grpc.service]
        : [
            'http',
            facts.httpPortVariable,
            String(schemaDefault(facts.schema, facts.httpPortVariable as string)),
            '/healthz',
          ];
      expect(command).toEqual(['node', 'docker/healthcheck.js', ...expected]);
      expect(final.lines).toContain('COPY docker/healthcheck.js docker/healthcheck.js');
    });
  });

  describe('compose.yaml', () => {
    const compose = parse(read('docker/compose.yaml'), { merge: true }) as any;
    const services = compose.services as Record<string, any>;
    const APP_IMAGE = /^saldo\/([\w-]+)$/;

    // What the README sources before `docker compose up` (.saldo/local.env from `npm start`).
    const README_ENV = {
      LEDGER_SERVICE_TOKEN: 'a-local-token-0123456789',
      SALDO_KEY_ENCRYPTION_KEY: 'a-local-encryption-key-0123456789abcdef',
      SALDO_API_KEYS: 'demo=a-demo-key-0123456789',
    };

    it('a plain `docker compose up` interpolates the whole file (profile-gated services too) with the README’s variables', () => {
      const interpolated = interpolateDocument(compose, README_ENV) as any;
      expect(interpolated.services['transaction-aggregator'].environment.LEDGER_SERVICE_TOKEN).toBe(
        README_ENV.LEDGER_SERVICE_TOKEN,
      );
      expect(Object.keys(interpolated.services)).toEqual(Object.keys(services));
    });

    it('no profile-gated service requires a variable (Compose interpolates before it applies profiles)', () => {
      for (const [name, service] of Object.entries(services)) {
        if (!service.profiles) continue;
        let missing: string | undefined;
        try {
          interpolateDocument(service, {}, `services.${name}`);
        } catch (error) {
          if (!(error instanceof InterpolationError)) throw error;
          missing = error.message;
        }
        expect({ service: name, missing }).toEqual({ service: name, missing: undefined });
      }
      // The services of a plain `up` do require the local secrets, and say which.
      expect(() => interpolateDocument(compose, {})).toThrow(/LEDGER_SERVICE_TOKEN/);
    });

    it("runs the Firestore emulator with the repository's firestore.rules (mounted read-only)", () => {
      const firestore = services['firestore'];
      const rulesPath = (firestore.command as string[])
        .find((arg) => arg.startsWith('--rules='))
        ?.split('=')[1];
      expect(rulesPath).toBeDefined();
      const mount = ((firestore.volumes ?? []) as string[]).find((v) => v.split(':')[1] === rulesPath);
      expect(mount).toBeDefined();
      const [source, , mode] = (mount as string).split(':');
      expect(path.normalize(path.join('docker', source as string))).toBe('firestore.rules');
      expect(mode).toBe('ro');
      expect(exists('firestore.rules')).toBe(true);
    });

    it('builds from existing Dockerfiles and runs every app with its migrate step first', () => {
      for (const [name, service] of Object.entries(services)) {
        if (service.build) {
          const context = path.join('docker', service.build.context);
          expect(path.normalize(context)).toBe('.');
          expect(exists(service.build.dockerfile)).toBe(true);
          expect(service.image).toBe(`saldo/${path.basename(service.build.dockerfile, '.Dockerfile')}`);
        }
        for (const dependency of Object.keys(service.depends_on ?? {}))
          expect({ name, dependency, known: dependency in services }).toEqual({
            name,
            dependency,
            known: true,
          });
      }
      for (const facts of APPS) {
        const service = services[facts.app];
        expect(service?.image).toBe(`saldo/${facts.app}`);
        const migrate = services[`${facts.app}-migrate`];
        expect(migrate.command).toEqual(['node', `dist/out-tsc/apps/${facts.app}/src/cli.js`, 'migrate']);
        expect(migrate.image).toBe(`saldo/${facts.app}`);
        const waitsFor = (from: any, target: string): boolean =>
          Object.entries(from.depends_on ?? {}).some(
            ([dep, how]: [string, any]) =>
              (dep === target && how.condition === 'service_completed_successfully') ||
              waitsFor(services[dep], target),
          );
        expect(waitsFor(service, `${facts.app}-migrate`)).toBe(true);
      }
    });

    it("sets only variables the apps know, with valid values, secrets from the caller's environment", () => {
      for (const [name, service] of Object.entries(services)) {
        const match = (service.image ?? '').match(APP_IMAGE);
        if (!match) continue;
        const facts = appFacts(match[1]);
        const env = service.environment as Record<string, string>;
        const isMigrate = name.endsWith('-migrate');
        for (const [variable, value] of Object.entries(env)) {
          // Secrets (the local database's own password aside) come from the caller's environment.
          const interpolated = String(value).match(/^\$\{(\w+)(:\?|:-)[^}]*\}$/)?.[1];
          if (mustBeSecret(variable) && variable !== 'DATABASE_URL' && variable !== 'REDIS_URL') {
            expect({ service: name, variable, from: interpolated }).toEqual({
              service: name,
              variable,
              from: variable,
            });
          }
          if (interpolated)
            expect({ service: name, variable, from: interpolated }).toEqual({
              service: name,
              variable,
              from: variable,
            });
          checkVariable(facts, variable, interpolated ? undefined : String(value), `compose ${name}`);
        }
        if (!isMigrate)
          for (const required of requiredVariables(facts.schema))
            expect({ service: name, required, set: required in env }).toEqual({
              service: name,
              required,
              set: true,
            });
      }
    });

    it('publishes the aggregator on its gRPC port and HTTP door and points the apps at the services that exist', () => {
      const portsIn = (app: string) => appPorts(appFacts(app), (name) => services[app].environment[name]);
      const aggregator = services['transaction-aggregator'];
      const grpcPort = portsIn('transaction-aggregator').get('grpc');
      const connectPort = portsIn('transaction-aggregator').get('connect');
      expect(aggregator.ports).toEqual([
        `127.0.0.1:${grpcPort}:${grpcPort}`,
        `127.0.0.1:${connectPort}:${connectPort}`,
      ]);
      // The ledger publishes its metrics port at most, never gRPC; erp-sync nothing.
      const ledgerPorts = portsIn('wallet-ledger');
      expect(services['wallet-ledger'].ports ?? []).toEqual([
        `127.0.0.1:${ledgerPorts.get('http')}:${ledgerPorts.get('http')}`,
      ]);
      expect(services['erp-sync'].ports).toBeUndefined();
      expect(aggregator.environment.AGGREGATOR_LEDGER_TARGET).toBe(
        `wallet-ledger:${ledgerPorts.get('grpc')}`,
      );
      for (const [kind, variable] of [
        ['pubsub', 'PUBSUB_EMULATOR_HOST'],
        ['firestore', 'FIRESTORE_EMULATOR_HOST'],
      ] as const) {
        const emulator = services[kind];
        expect(emulator.image).toMatch(/^gcr\.io\/google\.com\/cloudsdktool\/google-cloud-cli:emulators$/);
        const listen = (emulator.command as string[])
          .find((arg) => arg.startsWith('--host-port='))
          ?.split('=')[1] as string;
        for (const app of APPS)
          expect(services[app.app].environment[variable]).toBe(`${kind}:${portOf(listen)}`);
        expect(emulator.healthcheck.test.join(' ')).toContain(`:${portOf(listen)}/`);
      }
      for (const app of APPS) {
        for (const url of [
          services[app.app].environment.DATABASE_URL,
          services[app.app].environment.REDIS_URL,
        ].filter(Boolean)) {
          expect(new URL(url).hostname in services).toBe(true);
        }
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------
// k8s/

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
}

function yamlDocuments(file: string): any[] {
  const documents = parseAllDocuments(read(file));
  for (const document of documents)
    expect({ file, errors: document.errors.map((e) => e.message) }).toEqual({ file, errors: [] });
  return documents.map((d) => d.toJS()).filter((d) => d != null);
}

function yamlFiles(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(file);
    return /\.ya?ml$/.test(entry.name) ? [file] : [];
  });
}

/** The objects of a kustomization's resources, following directories (bases) recursively. */
function kustomizationObjects(dir: string): K8sObject[] {
  const kustomization = parse(read(path.join(dir, 'kustomization.yaml')));
  return (kustomization.resources as string[]).flatMap((resource) => {
    const target = path.join(dir, resource);
    if (exists(path.join(target, 'kustomization.yaml'))) return kustomizationObjects(target);
    return yamlDocuments(target) as K8sObject[];
  });
}

const byKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const labelsMatch = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);
const appOfImage = (image: string) => image.match(/^saldo\/([\w-]+)$/)?.[1];

/** Checks a set of objects (the base, or an overlay as kustomize renders it). */
function checkManifests(objects: K8sObject[], imagePattern: RegExp): void {
  const deployments = byKind(objects, 'Deployment');
  const configMaps = new Map(byKind(objects, 'ConfigMap').map((c) => [c.metadata.name, c.data ?? {}]));
  const external = parse(read('k8s/external-inputs.yaml')) as Record<
    'secrets' | 'configMaps',
    { name: string; usedBy: string[]; keys: Record<string, string> }[]
  >;
  const secretKeys = new Set(
    external.secrets.flatMap((s) => Object.keys(s.keys).map((key) => `${s.name}/${key}`)),
  );
  const referencedSecrets = new Set<string>();
  const referencedConfigMaps = new Set<string>();
  for (const declared of external.configMaps) {
    expect({ configMap: declared.name, alsoInManifests: configMaps.has(declared.name) }).toEqual({
      configMap: declared.name,
      alsoInManifests: false,
    });
  }
  const externalConfigMap = (name: string) => external.configMaps.find((c) => c.name === name);

  expect(byKind(objects, 'Secret')).toEqual([]);
  expect(deployments.map((d) => d.metadata.name).sort()).toEqual(APPS.map((a) => a.app).sort());

  const containerEnv = (container: any, where: string) => {
    const env = new Map<string, { value?: string; secret?: string }>();
    for (const source of container.envFrom ?? []) {
      const declared = externalConfigMap(source.configMapRef?.name);
      if (declared) referencedConfigMaps.add(declared.name);
      const data =
        configMaps.get(source.configMapRef?.name) ??
        (declared ? Object.fromEntries(Object.keys(declared.keys).map((k) => [k, undefined])) : undefined);
      expect({ where, configMap: source.configMapRef?.name, exists: data !== undefined }).toEqual({
        where,
        configMap: source.configMapRef?.name,
        exists: true,
      });
      for (const [key, value] of Object.entries(data ?? {}))
        env.set(key, value === undefined ? {} : { value: String(value) });
    }
    for (const item of container.env ?? []) {
      const ref = item.valueFrom?.secretKeyRef;
      if (ref) {
        const id = `${ref.name}/${ref.key}`;
        referencedSecrets.add(id);
        expect({ where, secret: id, declared: secretKeys.has(id) }).toEqual({
          where,
          secret: id,
          declared: true,
        });
        env.set(item.name, { secret: id });
      } else {
        expect({ where, variable: item.name, from: item.valueFrom }).toEqual({
          where,
          variable: item.name,
          from: undefined,
        });
        env.set(item.name, { value: String(item.value) });
      }
    }
    for (const [name, source] of env) {
      if (mustBeSecret(name))
        expect({ where, variable: name, fromSecret: source.secret !== undefined }).toEqual({
          where,
          variable: name,
          fromSecret: true,
        });
    }
    return env;
  };

  for (const deployment of deployments) {
    const facts = appFacts(deployment.metadata.name);
    const where = `Deployment ${facts.app}`;
    const pod = deployment.spec.template;
    expect(labelsMatch(deployment.spec.selector.matchLabels, pod.metadata.labels)).toBe(true);
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
    expect(pod.spec.containers).toHaveLength(1);
    const container = pod.spec.containers[0];
    expect(container.image).toMatch(imagePattern);
    expect(exists(dockerfileOf(facts.app))).toBe(true);
    for (const volume of pod.spec.volumes ?? []) {
      if (!volume.configMap) continue;
      const declared = externalConfigMap(volume.configMap.name);
      expect({ where, volume: volume.configMap.name, declared: declared !== undefined }).toEqual({
        where,
        volume: volume.configMap.name,
        declared: true,
      });
      referencedConfigMaps.add(volume.configMap.name);
      for (const item of volume.configMap.items ?? [])
        expect(Object.keys(declared?.keys ?? {})).toContain(item.key);
    }

    const env = containerEnv(container, where);
    for (const [name, source] of env) checkVariable(facts, name, source.value, where);
    for (const required of requiredVariables(facts.schema))
      expect({ where, required, set: env.has(required) }).toEqual({ where, required, set: true });

    // Ports: what the app listens on with this environment (or its schema defaults).
    const ports = new Map<string, number>((container.ports as any[]).map((p) => [p.name, p.containerPort]));
    const expectedPorts = appPorts(facts, (name) => env.get(name)?.value);
    expect({ where, ports: Object.fromEntries(ports) }).toEqual({
      where,
      ports: Object.fromEntries(expectedPorts),
    });

    // Probes: gRPC health on the gRPC port (the server or the app's service), HTTP on paths served.
    const resolvePort = (port: number | string) => (typeof port === 'string' ? ports.get(port) : port);
    for (const probeName of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      const probe = container[probeName];
      if (!probe) {
        expect({ where, probe: probeName, present: probeName === 'startupProbe' }).toEqual({
          where,
          probe: probeName,
          present: true,
        });
        continue;
      }
      if (probe.grpc) {
        expect({ where, probeName, port: resolvePort(probe.grpc.port) }).toEqual({
          where,
          probeName,
          port: expectedPorts.get('grpc'),
        });
        expect(['', grpcOf(facts).service]).toContain(probe.grpc.service ?? '');
      } else if (probe.httpGet) {
        expect(facts.httpPortVariable).toBeDefined();
        expect({ where, probeName, port: resolvePort(probe.httpGet.port) }).toEqual({
          where,
          probeName,
          port: expectedPorts.get('http'),
        });
        expect(HTTP_PATHS).toContain(probe.httpGet.path);
        expect(probe.httpGet.path).toBe(probeName === 'readinessProbe' ? '/readyz' : '/healthz');
      } else {
        expect({ where, probeName, problem: 'neither grpc nor httpGet' }).toBeUndefined();
      }
    }
    for (const kind of ['requests', 'limits']) {
      expect(container.resources?.[kind]?.cpu).toBeDefined();
      expect(container.resources?.[kind]?.memory).toBeDefined();
    }

    // Service, HPA and PDB for every Deployment, pointing at it.
    const services = byKind(objects, 'Service').filter((s) =>
      labelsMatch(s.spec.selector, pod.metadata.labels),
    );
    expect(services).toHaveLength(1);
    for (const port of (services[0] as K8sObject).spec.ports) {
      expect({
        where,
        servicePort: port.name,
        target: resolvePort(port.targetPort),
        port: port.port,
      }).toEqual({
        where,
        servicePort: port.name,
        target: expectedPorts.get(port.name),
        port: expectedPorts.get(port.name),
      });
    }
    const hpas = byKind(objects, 'HorizontalPodAutoscaler').filter(
      (h) => h.spec.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === facts.app,
    );
    const pdbs = byKind(objects, 'PodDisruptionBudget').filter((p) =>
      labelsMatch(p.spec.selector.matchLabels, pod.metadata.labels),
    );
    expect(pdbs).toHaveLength(1);
    const pdb = (pdbs[0] as K8sObject).spec;
    if (facts.scaling === 'hpa') {
      expect(hpas).toHaveLength(1);
      const hpa = (hpas[0] as K8sObject).spec;
      expect(hpa.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa.maxReplicas).toBeGreaterThanOrEqual(hpa.minReplicas);
      expect(deployment.spec.replicas).toBeUndefined(); // the HPA owns it
      // A PDB must leave room to drain a node at the smallest scale.
      expect(pdb.minAvailable).toBeLessThan(hpa.minReplicas);
    } else {
      expect({
        where,
        hpas: hpas.length,
        replicas: deployment.spec.replicas,
        maxSurge: deployment.spec.strategy.rollingUpdate?.maxSurge,
      }).toEqual({
        where,
        hpas: 0,
        replicas: 1,
        maxSurge: 0,
      });
      expect(pdb).toMatchObject({ maxUnavailable: 1 });
    }
  }

  // Aggregator → ledger address matches the ledger's Service.
  const aggregatorEnv = configMaps.get('transaction-aggregator-config') ?? {};
  const ledgerService = byKind(objects, 'Service').find(
    (s) => s.metadata.name === 'wallet-ledger',
  ) as K8sObject;
  const ledgerGrpc = ledgerService.spec.ports.find((p: any) => p.name === 'grpc');
  expect(aggregatorEnv['AGGREGATOR_LEDGER_TARGET']).toBe(`wallet-ledger:${ledgerGrpc.port}`);

  // Migration Job: each app's migrate command in its own image, before the Deployments.
  const jobs = byKind(objects, 'Job');
  expect(jobs).toHaveLength(1);
  const job = jobs[0] as K8sObject;
  const migrators = [...(job.spec.template.spec.initContainers ?? []), ...job.spec.template.spec.containers];
  expect(migrators.map((c: any) => c.image)).toEqual(APPS.map(() => expect.stringMatching(imagePattern)));
  for (const container of migrators) {
    const app = appFacts(
      (container.command as string[])
        .find((arg) => arg.endsWith('/src/cli.js'))
        ?.match(/^dist\/out-tsc\/apps\/([\w-]+)\/src\/cli\.js$/)?.[1] ?? '',
    );
    expect(container.command).toEqual(['node', `dist/out-tsc/apps/${app.app}/src/cli.js`, 'migrate']);
    expect(container.image).toContain(app.app);
    const env = containerEnv(container, `Job container ${container.name}`);
    expect([...env.keys()]).toEqual(['DATABASE_URL']);
  }
  // The pipeline applies pre-deploy objects first: the Job and every ConfigMap it or the apps need.
  for (const object of [job, ...byKind(objects, 'ConfigMap')])
    expect(object.metadata.labels?.['saldo.io/deploy-phase']).toBe('pre-deploy');

  // Every declared secret key and ConfigMap is used; nothing undeclared is referenced (checked above).
  expect([...referencedSecrets].sort()).toEqual([...secretKeys].sort());
  expect([...referencedConfigMaps].sort()).toEqual(external.configMaps.map((c) => c.name).sort());
  for (const declared of external.configMaps) {
    for (const key of Object.keys(declared.keys)) {
      if (key.endsWith('.json')) continue; // a mounted file, not a variable
      for (const app of declared.usedBy) {
        expect({ configMap: declared.name, key, secret: mustBeSecret(key) }).toEqual({
          configMap: declared.name,
          key,
          secret: false,
        });
        checkVariable(appFacts(app), key, undefined, `external ConfigMap ${declared.name}`);
      }
    }
  }
  for (const [name, data] of configMaps)
    for (const key of Object.keys(data))
      expect({ configMap: name, key, secret: mustBeSecret(key) }).toEqual({
        configMap: name,
        key,
        secret: false,
      });

  checkNetworkPolicies(objects, deployments);
}

/**
 * Only the aggregator's gRPC port and HTTP door and erp-sync's webhook port are reachable from
 * outside the namespace; the ledger only from its callers.
 */
function checkNetworkPolicies(objects: K8sObject[], deployments: K8sObject[]): void {
  const policies = byKind(objects, 'NetworkPolicy');
  const denyAll = policies.filter(
    (p) =>
      Object.keys(p.spec.podSelector ?? {}).length === 0 &&
      p.spec.policyTypes?.includes('Ingress') &&
      !p.spec.ingress,
  );
  expect(denyAll).toHaveLength(1);
  const podLabels = (app: string) =>
    (deployments.find((d) => d.metadata.name === app) as K8sObject).spec.template.metadata.labels;
  const grpcPort = (app: string) =>
    portOf(String(schemaDefault(appFacts(app).schema, grpcOf(appFacts(app)).variable)));
  const callersOfLedger = new Set(['transaction-aggregator', 'erp-sync', 'console']);
  const publicPorts = (app: string): number[] =>
    app === 'transaction-aggregator'
      ? [
          grpcPort(app),
          Number(schemaDefault(appFacts(app).schema, appFacts(app).connectPortVariable as string)),
        ]
      : app === 'erp-sync'
        ? [Number(schemaDefault(appFacts(app).schema, appFacts(app).webhookPortVariable as string))]
        : app === 'console'
          ? [Number(schemaDefault(appFacts(app).schema, appFacts(app).webPortVariable as string))]
          : [];

  for (const policy of policies.filter((p) => p.spec.ingress)) {
    const selected = deployments
      .filter((d) => labelsMatch(policy.spec.podSelector.matchLabels ?? {}, d.spec.template.metadata.labels))
      .map((d) => d.metadata.name);
    for (const rule of policy.spec.ingress) {
      const peers: any[] = rule.from ?? [];
      const fromOutside = peers.length === 0 || peers.some((peer) => peer.namespaceSelector || peer.ipBlock);
      const ports = (rule.ports ?? []).map((p: any) => p.port);
      expect(ports.length).toBeGreaterThan(0);
      if (fromOutside) {
        expect({ policy: policy.metadata.name, selects: selected.length }).toEqual({
          policy: policy.metadata.name,
          selects: 1,
        });
        expect({ policy: policy.metadata.name, ports }).toEqual({
          policy: policy.metadata.name,
          ports: publicPorts(selected[0] as string),
        });
        expect(publicPorts(selected[0] as string).length).toBeGreaterThan(0);
        continue;
      }
      for (const peer of peers) {
        const caller = peer.podSelector?.matchLabels?.['app.kubernetes.io/name'];
        expect({
          policy: policy.metadata.name,
          caller,
          pods: Object.keys(peer.podSelector?.matchLabels ?? {}),
        }).toEqual({
          policy: policy.metadata.name,
          caller: expect.any(String),
          pods: ['app.kubernetes.io/name'],
        });
        if (selected.includes('wallet-ledger')) expect(callersOfLedger.has(caller)).toBe(true);
      }
      if (selected.includes('wallet-ledger')) expect(ports).toEqual([grpcPort('wallet-ledger')]);
    }
  }
  // The ledger is reachable at all only through such a policy.
  const ledgerPolicies = policies.filter(
    (p) => p.spec.ingress && labelsMatch(p.spec.podSelector.matchLabels ?? {}, podLabels('wallet-ledger')),
  );
  expect(ledgerPolicies).toHaveLength(1);
}

describe('k8s/', () => {
  it('every YAML file parses', () => {
    const files = yamlFiles('k8s');
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const file of files) expect(yamlDocuments(file).length).toBeGreaterThan(0);
  });

  it('the base lists files that exist, and each overlay extends the base with patches of objects it has', () => {
    const base = parse(read('k8s/base/kustomization.yaml'));
    for (const resource of base.resources as string[])
      expect(exists(path.join('k8s/base', resource))).toBe(true);
    const baseObjects = kustomizationObjects('k8s/base');
    const baseImages = new Set(
      [...byKind(baseObjects, 'Deployment'), ...byKind(baseObjects, 'Job')].flatMap((o) =>
        [...(o.spec.template.spec.initContainers ?? []), ...o.spec.template.spec.containers].map(
          (c: any) => c.image,
        ),
      ),
    );
    for (const image of baseImages)
      expect(exists(dockerfileOf(appOfImage(image) ?? `unknown image ${image}`))).toBe(true);

    for (const overlay of ['staging', 'production']) {
      const dir = `k8s/overlays/${overlay}`;
      const kustomization = parse(read(`${dir}/kustomization.yaml`));
      expect(kustomization.resources).toEqual(['../../base']);
      expect(kustomization.namespace).toBe(`saldo-${overlay}`);
      expect(new Set((kustomization.images as any[]).map((i) => i.name))).toEqual(baseImages);
      for (const patch of kustomization.patches as { path: string }[]) {
        for (const object of yamlDocuments(path.join(dir, patch.path)) as K8sObject[]) {
          const target = baseObjects.find(
            (o) => o.kind === object.kind && o.metadata.name === object.metadata.name,
          );
          expect({
            overlay,
            patch: `${object.kind}/${object.metadata.name}`,
            targetExists: target !== undefined,
          }).toEqual({
            overlay,
            patch: `${object.kind}/${object.metadata.name}`,
            targetExists: true,
          });
          for (const key of Object.keys(object.data ?? {}))
            checkConfigKey(object.metadata.name, key, object.data?.[key]);
        }
      }
    }
  });

  it('base: ports, probes, variables, secrets, scaling, migration and network policies match the apps', () => {
    checkManifests(
      kustomizationObjects('k8s/base'),
      new RegExp(`^saldo/(${APPS.map((a) => a.app).join('|')})$`),
    );
  });

  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
  (kubectl ? it.each(['staging', 'production']) : it.skip.each(['staging', 'production']))(
    'overlay %s, as kustomize renders it, passes the same checks',
    (overlay) => {
      const rendered = execFileSync('kubectl', ['kustomize', `k8s/overlays/${overlay}`], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      const objects = parseAllDocuments(rendered).map((d) => d.toJS()) as K8sObject[];
      checkManifests(
        objects,
        new RegExp(`^registry\\.gitlab\\.com/saldo/saldo/(${APPS.map((a) => a.app).join('|')}):`),
      );
      for (const object of objects)
        expect((object.metadata as any).namespace ?? `saldo-${overlay}`).toBe(`saldo-${overlay}`);
      const google = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'saldo-google-cloud');
      expect(google?.data?.['GOOGLE_CLOUD_PROJECT']).toBe(`saldo-${overlay}`);
    },
  );
});

/** A ConfigMap key of an overlay patch: known to the app that reads the ConfigMap, valid, not secret. */
function checkConfigKey(configMap: string, key: string, value: string | undefined): void {
  expect({ configMap, key, secret: mustBeSecret(key) }).toEqual({ configMap, key, secret: false });
  const app = configMap.replace(/-config$/, '');
  if (APPS.some((a) => a.app === app))
    checkVariable(appFacts(app), key, value, `overlay ConfigMap ${configMap}`);
  else expect(key in LIBRARY_VARIABLES || APPS.every((a) => key in a.schema.shape)).toBe(true);
}

// ---------------------------------------------------------------------------------------------
// .gitlab-ci.yml

describe('.gitlab-ci.yml', () => {
  const ci = parse(read('.gitlab-ci.yml')) as Record<string, any>;
  const RESERVED = new Set([
    'stages',
    'variables',
    'default',
    'include',
    'workflow',
    'image',
    'services',
    'cache',
    'before_script',
    'after_script',
  ]);
  const jobs = Object.entries(ci).filter(([name]) => !RESERVED.has(name) && !name.startsWith('.'));
  const resolved = (job: any): any => (job.extends ? { ...resolved(ci[job.extends]), ...job } : job);
  const scriptOf = (job: any) =>
    [...(resolved(job).before_script ?? []), ...(resolved(job).script ?? [])].join('\n');

  it('runs lint, typecheck, test, build and deploy in that order, each job in a declared stage', () => {
    expect(ci['stages']).toEqual(['lint', 'typecheck', 'test', 'build', 'deploy']);
    for (const [name, job] of jobs)
      expect({
        name,
        stage: resolved(job).stage,
        declared: ci['stages'].includes(resolved(job).stage),
      }).toEqual({ name, stage: resolved(job).stage, declared: true });
    for (const stage of ci['stages'])
      expect(jobs.some(([, job]) => resolved(job).stage === stage)).toBe(true);
  });

  it('uses the npm scripts that exist, never npm ci', () => {
    const scripts = JSON.parse(read('package.json')).scripts as Record<string, string>;
    for (const [name, job] of jobs) {
      const text = scriptOf(job);
      expect({ name, npmCi: /\bnpm ci\b/.test(text) }).toEqual({ name, npmCi: false });
      for (const [, script] of text.matchAll(/npm run ([\w:-]+)/g))
        expect({ name, script, exists: (script as string) in scripts }).toEqual({
          name,
          script,
          exists: true,
        });
    }
    expect(scriptOf(ci['typecheck'])).toContain('tsc -p tsconfig.json --noEmit');
    expect(exists('tsconfig.json')).toBe(true);
  });

  it('tests with PostgreSQL and Redis as services and gcloud + Java for the emulators npm test starts', () => {
    const test = resolved(ci['test']);
    const images = (test.services as any[]).map((s) => (typeof s === 'string' ? s : s.name));
    expect(images).toEqual(
      expect.arrayContaining([expect.stringMatching(/^postgres:\d+/), expect.stringMatching(/^redis:\d+/)]),
    );
    expect(test.image).toBe('$NODE_IMAGE');
    expect(ci['variables'].NODE_IMAGE).toMatch(/^node:22\b/);
    const text = scriptOf(test);
    expect(text).toMatch(/google-cloud-cli-pubsub-emulator/);
    expect(text).toMatch(/google-cloud-cli-firestore-emulator/);
    expect(text).toMatch(/openjdk-\d+-jre-headless/);
    expect(test.script).toEqual(['npm test']);
    // The harness reaches the service containers through these (databases.cjs, REDIS_URL).
    const aliases = (test.services as any[]).map((s) => s.alias);
    expect(test.variables.PGHOST).toBe(aliases.find((a: string) => a === 'postgres'));
    expect(new URL(test.variables.REDIS_URL).hostname).toBe(aliases.find((a: string) => a === 'redis'));
    expect(read('libs/test-support/src/shared/databases.cjs')).toContain('env.PGHOST');
  });

  it('builds one image per Dockerfile, with the names the manifests use', () => {
    const build = resolved(ci['build-images']);
    const apps = build.parallel.matrix[0].APP as string[];
    const dockerfiles = fs.readdirSync(path.join(ROOT, 'docker')).filter((f) => f.endsWith('.Dockerfile'));
    expect(apps.map((app) => `${app}.Dockerfile`).sort()).toEqual(dockerfiles.sort());
    expect(scriptOf(build)).toContain('--dockerfile "$CI_PROJECT_DIR/docker/$APP.Dockerfile"');
    expect(scriptOf(build)).toContain('--destination "$CI_REGISTRY_IMAGE/$APP:$CI_COMMIT_SHA"');
  });

  it('deploys each overlay with kustomize, migrations first; production only by hand', () => {
    const deployJobs = jobs.filter(([, job]) => resolved(job).stage === 'deploy');
    expect(deployJobs.map(([name]) => name).sort()).toEqual(['deploy-production', 'deploy-staging']);
    for (const [name, job] of deployJobs) {
      const full = resolved(job);
      expect(exists(`k8s/overlays/${full.variables.SALDO_ENV}/kustomization.yaml`)).toBe(true);
      expect(name).toBe(`deploy-${full.variables.SALDO_ENV}`);
      const text = scriptOf(job);
      for (const app of APPS)
        expect(text).toContain(
          `kustomize edit set image "saldo/${app.app}=$CI_REGISTRY_IMAGE/${app.app}:$CI_COMMIT_SHA"`,
        );
      const steps = (full.script as string[]).map((s) => s.split(' ').slice(0, 2).join(' '));
      const apply = (full.script as string[]).findIndex((s) => s === 'kubectl apply -f /tmp/saldo.yaml');
      const preDeploy = (full.script as string[]).findIndex((s) =>
        s.includes('-l saldo.io/deploy-phase=pre-deploy'),
      );
      const waitJob = (full.script as string[]).findIndex((s) =>
        s.includes('wait --for=condition=complete job/saldo-migrate'),
      );
      expect({ steps, order: preDeploy >= 0 && preDeploy < waitJob && waitJob < apply }).toEqual({
        steps,
        order: true,
      });
    }
    const production = resolved(ci['deploy-production']);
    expect(production.rules.length).toBeGreaterThan(0);
    for (const rule of production.rules) expect(rule.when).toBe('manual');
    expect(production.environment.name).toBe('production');
  });
});
