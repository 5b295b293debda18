import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The directory that holds the .proto sources. Services load them at run time with
 * @grpc/proto-loader; in images they are copied next to the code. SALDO_PROTO_DIR overrides.
 */
export function protoRoot(): string {
  const fromEnv = process.env['SALDO_PROTO_DIR'];
  if (fromEnv) return fromEnv;
  // Walk up from this file (src/ or dist/out-tsc/) to the workspace root that holds proto/.
  let dir = __dirname;
  for (let depth = 0; depth < 8; depth += 1) {
    const candidate = path.join(dir, 'proto');
    if (existsSync(path.join(candidate, 'saldo'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('Cannot find the proto/ directory; set SALDO_PROTO_DIR');
}

export function protoFile(relative: string): string {
  return path.join(protoRoot(), relative);
}
