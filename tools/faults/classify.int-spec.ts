// (Beside the drill, not in libs/infra/faults: it uses @saldo/test-support, which depends on the lib.)
// The classification against the real dependencies: PostgreSQL (a closed port, a pool timeout, a
// terminated backend, a lock timeout, a serialization failure), a gRPC server that is not there
// and Redis on a closed port. Each fault is produced for real, then classified.
import { credentials, loadPackageDefinition, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS } from '@saldo/grpc-kit';
import { LedgerError } from '@saldo/ledger-domain';
import { protoFile, protoRoot } from '@saldo/proto';
import { createTestDatabase, freePort, startTcpProxy, type TestDatabase } from '@saldo/test-support';
import Redis from 'ioredis';
import { Client, Pool } from 'pg';
import { classifyFault, dependencyError, outcomeUnknown } from '@saldo/faults';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('faults_classify');
}, 30_000);
afterAll(async () => {
  await db?.drop();
}, 30_000);

async function failureOf(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

async function connected(url = db.url): Promise<Client> {
  const client = new Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

describe('classifyFault against real PostgreSQL', () => {
  it('a pool pointed at a closed port: connection refused → unavailable (DEPENDENCY_UNAVAILABLE)', async () => {
    const url = new URL(db.url);
    url.port = String(await freePort());
    const pool = new Pool({ connectionString: url.toString(), connectionTimeoutMillis: 2_000 });
    const error = await failureOf(() => pool.query('SELECT 1'));
    await pool.end();
    expect(classifyFault(error)).toMatchObject({ kind: 'unavailable', reason: 'connection_refused' });
    const coded = dependencyError(error, 'the database');
    expect(coded).toBeInstanceOf(LedgerError);
    expect(coded?.code).toBe('DEPENDENCY_UNAVAILABLE');
    expect(coded?.message).toMatch(/retry with the same idempotency key/);
  });

  it('a pool whose every connection is busy: pool timeout → unavailable', async () => {
    const pool = new Pool({ connectionString: db.url, max: 1, connectionTimeoutMillis: 200 });
    const held = await pool.connect();
    const error = await failureOf(() => pool.query('SELECT 1'));
    held.release();
    await pool.end();
    expect(classifyFault(error)).toMatchObject({ kind: 'unavailable', reason: 'pool_timeout' });
  });

  it('a backend terminated by pg_terminate_backend (admin shutdown) → unavailable, and its next query too', async () => {
    const victim = await connected();
    const admin = await connected();
    const pid = (await victim.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    const running = failureOf(() => victim.query('SELECT pg_sleep(5)'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    const during = await running;
    expect(classifyFault(during)?.kind).toBe('unavailable');
    expect(['pg_admin_shutdown', 'connection_terminated']).toContain(classifyFault(during)?.reason);
    const after = await failureOf(() => victim.query('SELECT 1'));
    expect(classifyFault(after)?.kind).toBe('unavailable');
    await admin.end();
    await victim.end().catch(() => undefined);
  });

  it('a connection reset under a query (a proxy cut) → unavailable: connection terminated', async () => {
    const url = new URL(db.url);
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    const client = await connected(proxy.url(db.url));
    const running = failureOf(() => client.query('SELECT pg_sleep(5)'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    proxy.resetConnections();
    expect(classifyFault(await running)).toMatchObject({ kind: 'unavailable' });
    await proxy.setMode('refuse');
    const refused = await failureOf(() => connected(proxy.url(db.url)));
    expect(classifyFault(refused)).toMatchObject({ kind: 'unavailable', reason: 'connection_refused' });
    await proxy.close();
  });

  it('a lock timeout → retry (CONFLICT_RETRY)', async () => {
    const a = await connected();
    const b = await connected();
    await a.query('CREATE TABLE IF NOT EXISTS faults_lock (id int PRIMARY KEY)');
    await a.query('BEGIN');
    await a.query('LOCK TABLE faults_lock IN ACCESS EXCLUSIVE MODE');
    await b.query(`SET lock_timeout = '100ms'`);
    const error = await failureOf(() => b.query('SELECT * FROM faults_lock'));
    await a.query('ROLLBACK');
    expect(classifyFault(error)).toMatchObject({ kind: 'retry', reason: 'pg_lock_timeout' });
    expect(dependencyError(error)?.code).toBe('CONFLICT_RETRY');
    await a.end();
    await b.end();
  });

  it('a serialization failure → retry', async () => {
    const a = await connected();
    const b = await connected();
    await a.query('CREATE TABLE IF NOT EXISTS faults_ser (id int PRIMARY KEY, v int)');
    await a.query('INSERT INTO faults_ser VALUES (1, 0) ON CONFLICT DO NOTHING');
    await a.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
    await b.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
    await a.query('SELECT v FROM faults_ser WHERE id = 1');
    await b.query('SELECT v FROM faults_ser WHERE id = 1');
    await a.query('UPDATE faults_ser SET v = v + 1 WHERE id = 1');
    const pending = failureOf(() => b.query('UPDATE faults_ser SET v = v + 1 WHERE id = 1'));
    await a.query('COMMIT');
    const error = await pending;
    await b.query('ROLLBACK');
    expect(classifyFault(error)).toMatchObject({ kind: 'retry', reason: 'pg_serialization_failure' });
    await a.end();
    await b.end();
  });

  it('a refusal of the request itself is not a dependency failure', async () => {
    const a = await connected();
    const error = await failureOf(() => a.query('SELECT 1/0'));
    expect(classifyFault(error)).toBeUndefined();
    expect(dependencyError(error)).toBeUndefined();
    await a.end();
  });
});

describe('classifyFault against other real dependencies', () => {
  it('a gRPC server that is not there → unavailable', async () => {
    const definition = loadSync(protoFile('saldo/transaction/v1/transaction.proto'), {
      ...PROTO_LOADER_OPTIONS,
      includeDirs: [protoRoot()],
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const pkg = loadPackageDefinition(definition) as any;
    const client = new pkg.saldo.transaction.v1.TransactionService(
      `127.0.0.1:${await freePort()}`,
      credentials.createInsecure(),
    );
    const error = await new Promise<ServiceError>((resolve) =>
      client.getWallet({}, { deadline: new Date(Date.now() + 2_000) }, (e: ServiceError) => resolve(e)),
    );
    client.close();
    expect(classifyFault(error)?.kind).toBe('unavailable');
    expect(dependencyError(error, 'the ledger')?.code).toBe('DEPENDENCY_UNAVAILABLE');
  });

  it('Redis on a closed port (no offline queue) → unavailable', async () => {
    const redis = new Redis(`redis://127.0.0.1:${await freePort()}`, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    redis.on('error', () => undefined);
    const error = await failureOf(() => redis.connect().then(() => redis.get('k')));
    redis.disconnect();
    expect(classifyFault(error)?.kind).toBe('unavailable');
  });

  it('an unknown outcome is UNAVAILABLE with the same-key hint, whatever the cause', () => {
    const error = outcomeUnknown('the write', new Error('anything'));
    expect(error.code).toBe('DEPENDENCY_UNAVAILABLE');
    expect(error.message).toMatch(/may have been applied; retry with the same idempotency key/);
  });
});
