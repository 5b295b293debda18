import { distance } from 'fastest-levenshtein';

/**
 * Duplicate detection between hub customers: exact on e-mail or external id (certain), fuzzy on a
 * normalised name plus phone or company e-mail domain (a score in 0..1). Deterministic: Levenshtein
 * distance (fastest-levenshtein) over normalised names. Pure.
 */
export interface Identity {
  customerId: string;
  name: string | null;
  email: string | null;
  phone: string | null;
}

export interface Match {
  score: number;
  reasons: string[];
}

/** Free-mail domains say nothing about a company. */
const FREE_MAIL = new Set([
  'gmail.com',
  'yahoo.com',
  'hotmail.com',
  'outlook.com',
  'icloud.com',
  'proton.me',
  'protonmail.com',
  'aol.com',
  'mail.com',
  'gmx.net',
  'yahoo.co.id',
  'ymail.com',
  'live.com',
]);
const LEGAL_FORMS = /\b(pt|cv|tbk|inc|llc|ltd|limited|gmbh|corp|corporation|co|company|plc|sa|bv|ag)\b/g;

export function normaliseName(name: string | null): string {
  if (!name) return '';
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9 ]+/g, ' ')
    .replace(LEGAL_FORMS, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function companyDomain(email: string | null): string | null {
  const domain = email?.split('@')[1]?.toLowerCase();
  return domain && !FREE_MAIL.has(domain) ? domain : null;
}

export function nameSimilarity(a: string | null, b: string | null): number {
  const x = normaliseName(a);
  const y = normaliseName(b);
  if (!x || !y) return 0;
  if (x === y) return 1;
  // Word order does not matter ("Lopez Ana" = "Ana Lopez").
  const sorted = (s: string) => s.split(' ').sort().join(' ');
  const xs = sorted(x);
  const ys = sorted(y);
  return 1 - distance(xs, ys) / Math.max(xs.length, ys.length);
}

/** How likely two customers are one: 1 for the same e-mail; else name similarity and a shared phone or domain. */
export function matchScore(a: Identity, b: Identity): Match {
  if (a.email && b.email && a.email.toLowerCase() === b.email.toLowerCase())
    return { score: 1, reasons: [`same e-mail ${a.email.toLowerCase()}`] };
  const name = nameSimilarity(a.name, b.name);
  const samePhone = !!a.phone && a.phone === b.phone;
  const domain = companyDomain(a.email);
  const sameDomain = !!domain && domain === companyDomain(b.email);
  const reasons = [`name similarity ${name.toFixed(2)}`];
  if (samePhone) reasons.push(`same phone ${a.phone}`);
  else if (sameDomain) reasons.push(`same e-mail domain ${domain}`);
  const score = 0.55 * name + (samePhone ? 0.45 : sameDomain ? 0.35 : 0);
  return { score: Math.round(score * 10_000) / 10_000, reasons };
}

/**
 * Candidate keys to compare a customer with (blocking): only customers sharing one are scored,
 * so detection stays linear at 10,000 customers.
 */
export function blockingKeys(i: Identity): string[] {
  const keys: string[] = [];
  if (i.email) keys.push(`e:${i.email.toLowerCase()}`);
  if (i.phone) keys.push(`p:${i.phone}`);
  const domain = companyDomain(i.email);
  if (domain) keys.push(`d:${domain}`);
  const name = normaliseName(i.name);
  if (name) keys.push(`n:${name.split(' ').sort()[0]}`);
  return keys;
}

const CALLING_CODES: ReadonlyArray<[string, string]> = [
  ['971', 'AE'],
  ['886', 'TW'],
  ['852', 'HK'],
  ['1', 'US'],
  ['7', 'RU'],
  ['20', 'EG'],
  ['27', 'ZA'],
  ['31', 'NL'],
  ['33', 'FR'],
  ['34', 'ES'],
  ['39', 'IT'],
  ['41', 'CH'],
  ['44', 'GB'],
  ['46', 'SE'],
  ['49', 'DE'],
  ['52', 'MX'],
  ['55', 'BR'],
  ['60', 'MY'],
  ['61', 'AU'],
  ['62', 'ID'],
  ['63', 'PH'],
  ['64', 'NZ'],
  ['65', 'SG'],
  ['66', 'TH'],
  ['81', 'JP'],
  ['82', 'KR'],
  ['84', 'VN'],
  ['86', 'CN'],
  ['91', 'IN'],
];

/** Enrichment: the country (ISO 3166 alpha-2) of an E.164 phone number's calling code. */
export function countryOfPhone(phone: string | null): string | null {
  if (!phone?.startsWith('+')) return null;
  const digits = phone.slice(1);
  for (const [code, country] of CALLING_CODES) if (digits.startsWith(code)) return country;
  return null;
}
