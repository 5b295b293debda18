import { readFileSync } from 'node:fs';
import { HubError, type HubService } from './hub-service';
import { defaultMapping, HUB_CONNECTORS, MappingError, type HubConnector } from './mapping';

/** `erp-sync hub …` (and `saldo hub …`): the integration hub's operator commands. */
export const HUB_USAGE = `  hub status [--tenant T]          customers, cursors per connector, quarantine, review queue,
                                   paused fields (schema drift), mapping versions
  hub mappings list --tenant T     every mapping version (author, time, comment)
  hub mappings show --tenant T [--version N]
  hub mappings diff --tenant T <from> <to>
  hub mappings save --tenant T (--file F | --default) [--author A] [--comment C]
                                   validate against each system's schema and store a new version
  hub mappings restore --tenant T <version> [--author A]   a new version with an old one's content
  hub mappings preview --tenant T --connector X --id <external id> [--file F]
                                   a real record before and after the mapping (a draft with --file)
  hub mappings suggest --tenant T --connector X [--to hub|netsuite|zendesk|activecampaign]
  hub conflicts --tenant T [--customer C]   the conflict audit: candidates, rule, winner, why
  hub customer --tenant T <customer>        a hub record: fields with source and time, links
  hub review list [--tenant T]     duplicate candidates below the auto-merge threshold
  hub review merge <id> [--by who] / hub review split <id> [--by who]
  hub quarantine list [--tenant T] records that failed validation (or a refused write), with reasons
  hub quarantine retry <id>        run a quarantined record through the current mapping again
  hub sync now --tenant T [--connector X]   schema check, read, resolve and write back now
  (every hub command takes --json)
`;

function option(flags: readonly string[], name: string): string | undefined {
  const i = flags.indexOf(name);
  return i >= 0 ? flags[i + 1] : undefined;
}

function positional(flags: readonly string[]): string[] {
  return flags.filter((arg, i) => !arg.startsWith('--') && !flags[i - 1]?.startsWith('--'));
}

const toJson = (value: unknown) =>
  `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`;

function connectorOf(value: string | undefined): HubConnector {
  if (!value || !(HUB_CONNECTORS as readonly string[]).includes(value))
    throw new HubError('INVALID', `--connector must be one of ${HUB_CONNECTORS.join(', ')}`);
  return value as HubConnector;
}

function required(value: string | undefined, what: string): string {
  if (!value) throw new HubError('INVALID', `${what} is required`);
  return value;
}

/** Runs one hub command; returns the exit code (0 done, 1 refused or failed, 2 usage). */
export async function runHubCommand(
  hub: HubService,
  args: readonly string[],
  out: (text: string) => void,
): Promise<number> {
  const [group, sub, ...rest] = args;
  const flags = [sub ?? '', ...rest];
  const json = args.includes('--json');
  const tenant = option(args, '--tenant');
  const by = option(args, '--by') ?? option(args, '--author') ?? process.env['USER'] ?? 'operator';
  try {
    switch (group) {
      case 'status': {
        const status = await hub.status(tenant);
        const paused = await hub.paused(tenant);
        if (json) out(toJson({ ...status, paused }));
        else {
          out(
            `customers: ${
              Object.entries(status.customers)
                .map(([k, v]) => `${v} ${k}`)
                .join(', ') || 'none'
            }\n`,
          );
          for (const c of status.cursors)
            out(
              `${c.tenantId}\t${c.connector}\tread ${c.recordsRead}\tinitial sync ${c.initialDone ? 'done' : 'in progress'}\tlast run ${c.lastRunAt?.toISOString() ?? '-'}${c.lastError ? `\terror: ${c.lastError}` : ''}\n`,
            );
          out(
            `quarantined: ${status.quarantined}\tin review: ${status.inReview}\tdecisions: ${status.decisions}\n`,
          );
          for (const p of paused)
            out(`PAUSED ${p.tenantId} ${p.connector}.${p.sourceField} → ${p.hubField}: ${p.reason}\n`);
          for (const v of status.mappingVersions) out(`mapping ${v.tenantId}: version ${v.version}\n`);
        }
        return 0;
      }
      case 'mappings':
        return await mappings(hub, sub, rest, { json, tenant: required(tenant, '--tenant'), by, out });
      case 'conflicts': {
        const rows = await hub.conflicts(required(tenant, '--tenant'), option(args, '--customer'));
        if (json) out(toJson(rows));
        else {
          for (const d of rows)
            out(
              `#${d.id} ${d.decidedAt.toISOString()} ${d.customerId}.${d.field} [${d.rule}] winner ${JSON.stringify(d.winner)}\n    candidates ${JSON.stringify(d.candidates)}\n    ${d.explanation}\n`,
            );
          out(`${rows.length} decision(s)\n`);
        }
        return 0;
      }
      case 'customer': {
        const id = required(positional(flags)[0], 'the customer id');
        const c = await hub.customer(required(tenant, '--tenant'), id);
        if (!c) throw new HubError('NOT_FOUND', `no customer ${id}`);
        if (json) out(toJson(c));
        else {
          out(`${c.customerId} (${c.state}${c.mergedInto ? ` into ${c.mergedInto}` : ''})\n`);
          for (const [f, v] of Object.entries(c.fields))
            out(`  ${f}\t${v.value ?? '∅'}\tfrom ${v.source} at ${v.modifiedAt.toISOString()}\n`);
          for (const l of c.links)
            out(`  link ${l.connector} ${l.externalId}${l.key ? ` (key ${l.key})` : ''}\n`);
        }
        return 0;
      }
      case 'review': {
        if (sub === 'list') {
          const rows = await hub.reviews(tenant ?? null);
          if (json) out(toJson(rows));
          else {
            for (const r of rows)
              out(
                `#${r.id} ${r.tenantId} ${r.customerA} ~ ${r.customerB} score ${r.score.toFixed(2)}: ${r.reasons.join(', ')}\n`,
              );
            out(`${rows.length} open review(s)\n`);
          }
          return 0;
        }
        const id = required(positional(rest)[0], 'the review id');
        if (sub === 'merge') {
          const result = await hub.reviewMerge(id, by);
          out(json ? toJson(result) : `review ${id}: ${result.merged} merged into ${result.survivor}\n`);
          return 0;
        }
        if (sub === 'split') {
          await hub.reviewSplit(id, by);
          out(json ? toJson({ id, state: 'split' }) : `review ${id}: kept apart\n`);
          return 0;
        }
        return usage(out);
      }
      case 'quarantine': {
        if (sub === 'list') {
          const rows = await hub.quarantine(tenant ?? null);
          if (json) out(toJson(rows));
          else {
            for (const r of rows)
              out(
                `#${r.id} ${r.tenantId} ${r.connector} ${r.externalId} (${r.attempts}×): ${r.reasons.join('; ')}\n`,
              );
            out(`${rows.length} quarantined record(s)\n`);
          }
          return 0;
        }
        if (sub === 'retry') {
          const id = required(positional(rest)[0], 'the quarantine id');
          const result = await hub.quarantineRetry(id);
          out(
            json
              ? toJson(result)
              : result.passed
                ? `#${id}: passed, synced\n`
                : `#${id}: still invalid, quarantined again\n`,
          );
          return result.passed ? 0 : 1;
        }
        return usage(out);
      }
      case 'sync': {
        if (sub !== 'now') return usage(out);
        const connector = option(args, '--connector');
        const reports = await hub.syncNow(
          required(tenant, '--tenant'),
          connector ? [connectorOf(connector)] : undefined,
        );
        if (json) out(toJson(reports));
        else
          for (const r of reports)
            out(
              `${r.connector}: read ${r.read}, changed fields ${r.changedFields}, echoes ${r.echoes}, decisions ${r.decisions}, created ${r.created}, auto-merged ${r.autoMerged}, review ${r.queuedForReview}, quarantined ${r.quarantined}, written ${r.written}${r.writeFailures ? `, write failures ${r.writeFailures}` : ''}${r.paused.length ? `, paused ${r.paused.join(',')}` : ''}${r.error ? `, ERROR ${r.error}` : ''}\n`,
            );
        return reports.some((r) => r.error) ? 1 : 0;
      }
    }
    return usage(out);
  } catch (error) {
    if (error instanceof MappingError) {
      out(json ? toJson({ error: 'INVALID_MAPPING', problems: error.problems }) : `${error.message}\n`);
      return 1;
    }
    if (error instanceof HubError) {
      out(json ? toJson({ error: error.code, message: error.message }) : `hub: ${error.message}\n`);
      return error.code === 'INVALID' ? 2 : 1;
    }
    throw error;
  }
}

function usage(out: (text: string) => void): number {
  out(`usage:\n${HUB_USAGE}`);
  return 2;
}

async function mappings(
  hub: HubService,
  sub: string | undefined,
  rest: readonly string[],
  o: { json: boolean; tenant: string; by: string; out: (text: string) => void },
): Promise<number> {
  const { json, tenant, by, out } = o;
  const file = option(rest, '--file');
  const document = file ? (JSON.parse(readFileSync(file, 'utf8')) as unknown) : undefined;
  switch (sub) {
    case 'list': {
      const versions = await hub.listMappings(tenant);
      if (json) out(toJson(versions.map(({ mapping: _m, ...v }) => v)));
      else
        for (const v of versions)
          out(
            `v${v.version}\t${v.createdAt.toISOString()}\t${v.author}${v.restoredFrom ? `\t(restore of v${v.restoredFrom})` : ''}${v.comment ? `\t${v.comment}` : ''}\n`,
          );
      return 0;
    }
    case 'show': {
      const version = option(rest, '--version');
      const v = await hub.showMapping(tenant, version ? Number(version) : undefined);
      out(
        json
          ? toJson(v)
          : `v${v.version} by ${v.author} at ${v.createdAt.toISOString()}\n${toJson(v.mapping)}`,
      );
      return 0;
    }
    case 'diff': {
      const [from, to] = positional(rest).map(Number);
      if (!from || !to)
        throw new HubError('INVALID', 'two versions are required: hub mappings diff --tenant T <from> <to>');
      const lines = await hub.diff(tenant, from, to);
      out(json ? toJson(lines) : lines.length ? `${lines.join('\n')}\n` : 'no difference\n');
      return 0;
    }
    case 'save': {
      const doc = rest.includes('--default') ? defaultMapping() : document;
      if (doc === undefined) throw new HubError('INVALID', '--file <mapping.json> or --default is required');
      const saved = await hub.saveMapping(tenant, doc, by, option(rest, '--comment') ?? null);
      out(
        json ? toJson({ version: saved.version }) : `saved mapping version ${saved.version} for ${tenant}\n`,
      );
      return 0;
    }
    case 'restore': {
      const version = Number(positional(rest)[0]);
      if (!version) throw new HubError('INVALID', 'the version to restore is required');
      const restored = await hub.restore(tenant, version, by);
      out(json ? toJson(restored) : `version ${version} restored as version ${restored.version}\n`);
      return 0;
    }
    case 'preview': {
      const result = await hub.preview(
        tenant,
        connectorOf(option(rest, '--connector')),
        required(option(rest, '--id'), '--id'),
        document,
      );
      if (json) out(toJson(result));
      else {
        out(`${result.connector} ${result.externalId} → customer ${result.customerId}\n`);
        for (const f of Object.keys({ ...result.before, ...result.after }))
          out(`  ${f}\t${result.before[f] ?? '∅'}\t→ ${result.after[f] ?? '∅'}\n`);
        for (const p of result.problems) out(`  PROBLEM ${p}\n`);
      }
      return result.problems.length ? 1 : 0;
    }
    case 'suggest': {
      const to = option(rest, '--to') ?? 'hub';
      const suggestions = await hub.suggest(
        tenant,
        connectorOf(option(rest, '--connector')),
        to === 'hub' ? 'hub' : connectorOf(to),
      );
      if (json) out(toJson(suggestions));
      else for (const s of suggestions) out(`${s.from}\t→ ${s.to}\t${s.score.toFixed(2)}\t${s.why}\n`);
      return 0;
    }
  }
  return usage(out);
}
