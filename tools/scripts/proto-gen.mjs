#!/usr/bin/env node
// Regenerates libs/proto/src/generated (ts-proto, NestJS types), libs/proto/src/es (protobuf-es: the
// Connect door, reflection) and libs/client/src/gen (protobuf-es: @saldo/client) from proto/.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
for (const dir of ['libs/proto/src/generated', 'libs/proto/src/es', 'libs/client/src/gen'])
  rmSync(path.join(root, dir), { recursive: true, force: true });
execFileSync(path.join(root, 'node_modules/.bin/buf'), ['lint'], { cwd: root, stdio: 'inherit' });
for (const template of ['buf.gen.yaml', 'buf.gen.es.yaml', 'buf.gen.client.yaml'])
  execFileSync(path.join(root, 'node_modules/.bin/buf'), ['generate', '--template', template], {
    cwd: root,
    stdio: 'inherit',
  });
console.log('proto: generated libs/proto/src/generated, libs/proto/src/es, libs/client/src/gen');
