import { readFileSync } from 'node:fs';
import { CsvSource } from './csv-source';
import type { LegacySource } from './legacy-source';
import { MappingError, parseMapping, type Mapping } from './mapping';
import { PostgresSource } from './postgres-source';
import { SIMULATOR_MAPPING } from '../simulator/simulator-schema';

/** `--source`: a postgres:// URL (with `--mapping`), or `csv:<directory>` of an export. */
export function describeSourceSpec(): string {
  return 'postgres://user@host:port/db (with --mapping <file.json> | simulator) or csv:<directory>';
}

export function loadMapping(spec: string | undefined): Mapping {
  if (!spec || spec === 'simulator') return SIMULATOR_MAPPING;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(spec, 'utf8'));
  } catch (error) {
    throw new MappingError(`--mapping ${spec}: ${(error as Error).message}`);
  }
  return parseMapping(raw, `--mapping ${spec}`);
}

export function openSource(spec: string, mapping: Mapping): LegacySource {
  if (spec.startsWith('postgres://') || spec.startsWith('postgresql://'))
    return new PostgresSource(spec, mapping);
  if (spec.startsWith('csv:')) return new CsvSource(spec.slice(4));
  throw new MappingError(`--source ${spec.slice(0, 40)}: expected ${describeSourceSpec()}`);
}
