#!/usr/bin/env node
'use strict';
// Container health check: asks the service's standard gRPC health service (grpc.health.v1.Health/
// Check) whether it is SERVING. Exit 0 when it is, 1 otherwise (NOT_SERVING while draining, no
// answer, timeout). Only production dependencies; runs inside the images.
//
//   node docker/healthcheck.js <ADDRESS_VARIABLE> <default host:port> [service]
//
// The address comes from the same variable the app listens on (e.g. LEDGER_GRPC_URL), so the
// check follows a moved port; 0.0.0.0 / [::] become 127.0.0.1.
const grpc = require('@grpc/grpc-js');
const { loadSync } = require('@grpc/proto-loader');

const TIMEOUT_MS = 3_000;

function main(argv) {
  const [variable, fallback, service = ''] = argv;
  if (!variable || !fallback) {
    process.stderr.write('usage: healthcheck.js <ADDRESS_VARIABLE> <default host:port> [service]\n');
    return process.exit(2);
  }
  const address = process.env[variable] || fallback;
  const target = address.replace(/^(0\.0\.0\.0|\[::\]|::):/, '127.0.0.1:');
  const definition = loadSync(require.resolve('grpc-health-check/proto/health/v1/health.proto'), {
    keepCase: true,
    enums: String,
    defaults: true,
  });
  const Health = grpc.loadPackageDefinition(definition).grpc.health.v1.Health;
  const client = new Health(target, grpc.credentials.createInsecure());
  client.Check({ service }, { deadline: new Date(Date.now() + TIMEOUT_MS) }, (error, response) => {
    client.close();
    const status = error ? `no answer (${error.details || error.message})` : response.status;
    process.stdout.write(`${target} ${service || '(server)'}: ${status}\n`);
    process.exit(!error && status === 'SERVING' ? 0 : 1);
  });
}

main(process.argv.slice(2));
