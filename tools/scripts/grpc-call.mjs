#!/usr/bin/env node
// A small stand-in for grpcurl, for machines without it: one unary call to a Saldo service, with
// the same arguments as grpcurl (types from proto/, not reflection):
//
//   node tools/scripts/grpc-call.mjs [-plaintext] [-H 'name: value']... [-d '<json>'] host:port package.Service/Method
//
// The request is JSON with the .proto field names (snake_case). The response is printed as JSON
// (enums by name, int64 as strings, timestamps as RFC 3339). A failed call prints the gRPC status,
// message and Saldo's error code and exits 1; bad usage exits 2.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(path.join(root, 'package.json'));
const grpc = require('@grpc/grpc-js');
const protobuf = require('protobufjs');

const DEADLINE_MS = 15_000;
const USAGE =
  "usage: grpc-call.mjs [-plaintext] [-H 'name: value']... [-d '<json>'] host:port package.Service/Method";

function usage(message) {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const headers = [];
  const positional = [];
  let data = '{}';
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '-plaintext') continue; // always plaintext: local services only
    if (arg === '-H' || arg === '-d') {
      const value = argv[(i += 1)];
      if (value === undefined) usage(`${arg} needs a value`);
      if (arg === '-d') data = value;
      else headers.push(value);
    } else if (arg.startsWith('-')) usage(`unknown option ${arg}`);
    else positional.push(arg);
  }
  if (positional.length !== 2) usage('expected host:port and package.Service/Method');
  const [target, fullMethod] = positional;
  const match = fullMethod.match(/^([\w.]+)\/(\w+)$/);
  if (!match) usage(`bad method "${fullMethod}", expected package.Service/Method`);
  return { headers, data, target, serviceName: match[1], methodName: match[2] };
}

function protoFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return protoFiles(file);
    return entry.name.endsWith('.proto') ? [file] : [];
  });
}

function loadRoot() {
  const protoDir = process.env.SALDO_PROTO_DIR || path.join(root, 'proto');
  const protoRoot = new protobuf.Root();
  protoRoot.resolvePath = (_origin, target) =>
    path.isAbsolute(target) ? target : path.join(protoDir, target);
  protoRoot.loadSync(protoFiles(protoDir), { keepCase: true });
  return protoRoot.resolveAll();
}

/** Message to JSON-friendly object; Timestamps become RFC 3339 strings like grpcurl prints them. */
function render(type, message) {
  const object = type.toObject(message, {
    enums: String,
    longs: String,
    defaults: true,
    arrays: true,
    objects: true,
  });
  return convertTimestamps(type, object);
}

function convertTimestamps(type, object) {
  if (type.fullName === '.google.protobuf.Timestamp') {
    const millis = Number(object.seconds) * 1000 + Math.floor((object.nanos ?? 0) / 1e6);
    return new Date(millis).toISOString();
  }
  const ordered = {}; // in .proto field order, as grpcurl prints
  for (const field of type.fieldsArray) {
    const value = object[field.name];
    if (value === undefined) continue;
    ordered[field.name] = value;
    if (!(field.resolvedType instanceof protobuf.Type) || value === null) continue;
    if (field.map) {
      for (const key of Object.keys(value)) value[key] = convertTimestamps(field.resolvedType, value[key]);
    } else if (field.repeated) {
      ordered[field.name] = value.map((item) => convertTimestamps(field.resolvedType, item));
    } else {
      ordered[field.name] = convertTimestamps(field.resolvedType, value);
    }
  }
  return ordered;
}

const camel = (name) => name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

/**
 * Request JSON to an object with the .proto field names: accepts proto names and their lowerCamelCase
 * JSON names, and (like grpcurl) refuses fields the message does not have, which fromObject would drop.
 */
function normalize(type, object, where) {
  if (object === null || typeof object !== 'object' || Array.isArray(object))
    throw new Error(`${where}: expected an object`);
  const out = {};
  for (const [key, value] of Object.entries(object)) {
    const field = type.fields[key] ?? type.fieldsArray.find((f) => camel(f.name) === key);
    if (!field) throw new Error(`unknown field "${where}.${key}"`);
    const nested = field.resolvedType instanceof protobuf.Type && !field.map && value !== null;
    if (!nested || field.resolvedType.fullName === '.google.protobuf.Timestamp') out[field.name] = value;
    else if (field.repeated && Array.isArray(value))
      out[field.name] = value.map((item, i) => normalize(field.resolvedType, item, `${where}.${key}[${i}]`));
    else out[field.name] = normalize(field.resolvedType, value, `${where}.${key}`);
  }
  return out;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const protoRoot = loadRoot();
  const service = protoRoot.lookup(args.serviceName);
  if (!(service instanceof protobuf.Service)) usage(`no service ${args.serviceName} in proto/`);
  const method = service.methods[args.methodName];
  if (!method) usage(`${args.serviceName} has no method ${args.methodName}`);
  if (method.requestStream || method.responseStream) usage('only unary methods are supported');
  const requestType = method.resolvedRequestType;
  const responseType = method.resolvedResponseType;

  let body;
  try {
    body = JSON.parse(args.data);
  } catch (error) {
    usage(`-d is not JSON: ${error.message}`);
  }
  let request;
  try {
    request = requestType.fromObject(normalize(requestType, body, requestType.name));
  } catch (error) {
    usage(`bad request: ${error.message}`);
  }

  const metadata = new grpc.Metadata();
  for (const header of args.headers) {
    const at = header.indexOf(':');
    if (at <= 0) usage(`bad header "${header}", expected 'name: value'`);
    metadata.add(header.slice(0, at).trim().toLowerCase(), header.slice(at + 1).trim());
  }

  const client = new grpc.Client(args.target, grpc.credentials.createInsecure());
  client.makeUnaryRequest(
    `/${args.serviceName}/${args.methodName}`,
    (message) => Buffer.from(requestType.encode(message).finish()),
    (bytes) => responseType.decode(bytes),
    request,
    metadata,
    { deadline: new Date(Date.now() + DEADLINE_MS) },
    (error, response) => {
      client.close();
      if (error) {
        const code = error.metadata?.get('saldo-error-code')?.[0];
        const field = error.metadata?.get('saldo-error-field')?.[0];
        process.stderr.write(
          `ERROR:\n  Code: ${grpc.status[error.code] ?? error.code}\n  Message: ${error.details || error.message}\n` +
            (code ? `  Saldo code: ${code}${field ? ` (field ${field})` : ''}\n` : ''),
        );
        process.exit(1);
      }
      process.stdout.write(`${JSON.stringify(render(responseType, response), null, 2)}\n`);
    },
  );
}

main();
