#!/usr/bin/env node
'use strict';
// Container health check. Exit 0 when healthy, 1 otherwise (NOT_SERVING while draining, an error
// status, no answer, timeout). Only production dependencies; runs inside the images.
//
//   node docker/healthcheck.js grpc <ADDRESS_VARIABLE> <default host:port> [service]
//       asks the standard gRPC health service (grpc.health.v1.Health/Check) for SERVING
//   node docker/healthcheck.js http <PORT_VARIABLE> <default port> <path>
//       GET http://127.0.0.1:<port><path> answers 200
//
// The address comes from the same variable the app listens on (e.g. LEDGER_GRPC_URL), so the
// check follows a moved port; 0.0.0.0 / [::] become 127.0.0.1.
const http = require('node:http');

const TIMEOUT_MS = 3_000;
const USAGE =
  'usage: healthcheck.js grpc <ADDRESS_VARIABLE> <default host:port> [service]\n' +
  '       healthcheck.js http <PORT_VARIABLE> <default port> <path>\n';

function done(target, what, status, healthy) {
  process.stdout.write(`${target} ${what}: ${status}\n`);
  process.exit(healthy ? 0 : 1);
}

function checkGrpc(variable, fallback, service = '') {
  const grpc = require('@grpc/grpc-js');
  const { loadSync } = require('@grpc/proto-loader');
  const target = (process.env[variable] || fallback).replace(/^(0\.0\.0\.0|\[::\]|::):/, '127.0.0.1:');
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
    done(target, service || '(server)', status, !error && status === 'SERVING');
  });
}

function checkHttp(variable, fallback, path) {
  const target = `127.0.0.1:${process.env[variable] || fallback}`;
  const request = http.get(`http://${target}${path}`, { timeout: TIMEOUT_MS }, (response) => {
    response.resume();
    done(target, path, `HTTP ${response.statusCode}`, response.statusCode === 200);
  });
  request.on('timeout', () => request.destroy(new Error('timeout')));
  request.on('error', (error) => done(target, path, `no answer (${error.message})`, false));
}

function main([mode, variable, fallback, extra]) {
  if (mode === 'grpc' && variable && fallback) return checkGrpc(variable, fallback, extra);
  if (mode === 'http' && variable && fallback && extra && extra.startsWith('/'))
    return checkHttp(variable, fallback, extra);
  process.stderr.write(USAGE);
  return process.exit(2);
}

main(process.argv.slice(2));
