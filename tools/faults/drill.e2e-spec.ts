// The short fault drill inside `npm test` (issue 11): `npm run drill -- --short` on its own
// PostgreSQL cluster and Redis server (never the shared ones), through kill -9 of the ledger and
// the aggregator, a PostgreSQL restart, Redis stopped, the ledger paused and a one-tenant flood.
// It passes only if no answer was INTERNAL/UNKNOWN, every acknowledged write is in the ledger
// exactly once, money is conserved, no balance is negative and `ledger verify` passes.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '@saldo/test-support';

it('npm run drill -- --short passes every check', async () => {
  const child = spawn(process.execPath, [path.join(ROOT, 'tools/scripts/drill.mjs'), '--short'], {
    cwd: ROOT,
    // Its own ports (the upper half of the block `npm run drill` uses by default).
    env: { ...process.env, DRILL_PORT_BASE: process.env['DRILL_PORT_BASE'] ?? '51350' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  console.log(output);
  expect(output).toContain('| kill -9 ledger');
  expect(output).toMatch(/drill: PASSED/);
  expect(code).toBe(0);
}, 600_000);
