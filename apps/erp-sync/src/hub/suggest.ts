import { distance } from 'fastest-levenshtein';
import type { SchemaField } from './mapping';

/**
 * Mapping suggestions between two schemas (e.g. Zendesk users → the hub, or NetSuite → ActiveCampaign)
 * from names, labels and types: deterministic fuzzy matching (Levenshtein similarity of normalised
 * names and labels, with a few well-known synonyms), no model. A person accepts or rejects each.
 */
export interface Suggestion {
  from: string;
  to: string;
  score: number;
  why: string;
}

const SYNONYMS: ReadonlyArray<readonly string[]> = [
  ['name', 'companyname', 'fullname', 'displayname', 'firstnamelastname'],
  ['email', 'emailaddress', 'mail'],
  ['phone', 'phonenumber', 'mobile', 'telephone', 'tel'],
  ['company', 'organization', 'organisation', 'companyname', 'account'],
  ['tier', 'plan', 'level', 'saldotier'],
];

const squash = (s: string) =>
  s
    .toLowerCase()
    .replace(/^(user_fields\.|fields\.|custentity_)/, '')
    .replace(/[^a-z0-9]/g, '');

function similarity(a: string, b: string): number {
  const x = squash(a);
  const y = squash(b);
  if (!x || !y) return 0;
  if (x === y) return 1;
  if (SYNONYMS.some((group) => group.includes(x) && group.includes(y))) return 0.9;
  return 1 - distance(x, y) / Math.max(x.length, y.length);
}

function compatible(a: string, b: string): boolean {
  const kind = (t: string) =>
    /date|time/.test(t) ? 'date' : /int|decimal|number|currency/.test(t) ? 'number' : 'text';
  return kind(a) === kind(b) || kind(a) === 'text' || kind(b) === 'text';
}

/** The best target for each source field scoring at least `minScore`, each target used once, best first. */
export function suggestMappings(
  from: readonly SchemaField[],
  to: readonly SchemaField[],
  minScore = 0.7,
): Suggestion[] {
  const pairs: Suggestion[] = [];
  for (const f of from) {
    for (const t of to) {
      if (!compatible(f.type, t.type)) continue;
      const byName = similarity(f.name, t.name);
      const byLabel = similarity(f.label, t.label);
      const score = Math.max(byName, byLabel * 0.95);
      if (score >= minScore)
        pairs.push({
          from: f.name,
          to: t.name,
          score: Math.round(score * 100) / 100,
          why:
            byName >= byLabel * 0.95
              ? `names "${f.name}" ~ "${t.name}"`
              : `labels "${f.label}" ~ "${t.label}"`,
        });
    }
  }
  pairs.sort((a, b) => b.score - a.score || a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
  const usedFrom = new Set<string>();
  const usedTo = new Set<string>();
  return pairs.filter((p) => {
    if (usedFrom.has(p.from) || usedTo.has(p.to)) return false;
    usedFrom.add(p.from);
    usedTo.add(p.to);
    return true;
  });
}
