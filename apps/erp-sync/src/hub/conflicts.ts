import type { HubConnector, HubMapping, RuleName } from './mapping';

/**
 * Conflict rules: when a field's value from one system differs from the hub's value that another
 * system gave, a rule picks the winner and says why. Pure: the engine stores every decision
 * (candidates, rule, winner, explanation) in hub.decisions.
 */
export type Source = HubConnector | 'hub' | 'operator';

export interface Candidate {
  value: string | null;
  source: Source;
  modifiedAt: Date;
}

export interface Decision {
  winner: Candidate;
  rule: string;
  explanation: string;
}

/** A custom rule: picks one of the candidates (or returns null to fall back to last write wins). */
export type CustomRule = (candidates: readonly Candidate[]) => Candidate | null;

/** The registry of named custom rules ("custom:<name>" in a mapping). Add one here, in code. */
export const CUSTOM_RULES: ReadonlyMap<string, CustomRule> = new Map<string, CustomRule>([
  [
    // "the longest non-empty value" (an address or a company name that one system abbreviates)
    'longest',
    (candidates) => {
      const filled = candidates.filter((c) => c.value !== null && c.value.trim() !== '');
      if (filled.length === 0) return null;
      const longest = Math.max(...filled.map((c) => c.value!.trim().length));
      const top = filled.filter((c) => c.value!.trim().length === longest);
      return top.length === 1 ? top[0]! : null;
    },
  ],
  [
    // a value is never replaced by an empty one
    'non_empty',
    (candidates) => {
      const filled = candidates.filter((c) => c.value !== null && c.value.trim() !== '');
      return filled.length === 1 ? filled[0]! : null;
    },
  ],
]);

export function ruleOf(mapping: HubMapping, field: string): RuleName {
  return mapping.fields[field]?.rule ?? mapping.conflicts.rule;
}

const rank = (priority: readonly HubConnector[], source: Source) => {
  const i = priority.indexOf(source as HubConnector);
  return source === 'operator' ? -1 : i < 0 ? priority.length : i;
};

function byPriority(a: Candidate, b: Candidate, priority: readonly HubConnector[]): Candidate {
  return rank(priority, b.source) < rank(priority, a.source) ? b : a;
}

/** Decides between the hub's current value and an incoming one under the field's rule. */
export function resolveConflict(
  field: string,
  current: Candidate,
  incoming: Candidate,
  mapping: HubMapping,
): Decision {
  const rule = ruleOf(mapping, field);
  const { skewToleranceMs, priority } = mapping.conflicts;
  const order = priority.join(' > ');
  const lww = (): Decision => {
    const delta = incoming.modifiedAt.getTime() - current.modifiedAt.getTime();
    if (Math.abs(delta) <= skewToleranceMs) {
      const winner = byPriority(current, incoming, priority);
      return {
        winner,
        rule: 'lww',
        explanation: `changed ${Math.abs(delta)} ms apart, within the ${skewToleranceMs} ms clock-skew tolerance: source priority ${order} picks ${winner.source}`,
      };
    }
    const winner = delta > 0 ? incoming : current;
    return {
      winner,
      rule: 'lww',
      explanation: `last write wins: ${winner.source} changed it at ${winner.modifiedAt.toISOString()}, ${Math.abs(delta)} ms after the other`,
    };
  };
  if (rule === 'lww') return lww();
  if (rule === 'priority') {
    const winner = byPriority(current, incoming, priority);
    return { winner, rule: 'priority', explanation: `source priority ${order}: ${winner.source} wins` };
  }
  const name = rule.slice('custom:'.length);
  const custom = CUSTOM_RULES.get(name);
  const picked = custom?.([current, incoming]) ?? null;
  if (picked) return { winner: picked, rule, explanation: `custom rule "${name}" picked ${picked.source}` };
  const fallback = lww();
  return {
    ...fallback,
    rule,
    explanation: `custom rule "${name}" could not choose; ${fallback.explanation}`,
  };
}
