import type { RunningStandins } from './standins';

/**
 * A deterministic customer population spread over the three stand-ins for the integration hub's
 * tests and `npm run bench:hub`: overlaps (one customer in two systems), conflicts (a newer Zendesk
 * phone, a Zendesk tier that NetSuite's priority overrides, a shorter Zendesk company name), exact
 * and fuzzy duplicates, near duplicates for review and invalid e-mails. Returns the golden records
 * the hub must end with (by e-mail) and the counts of each named outcome.
 */
export interface HubScenario {
  tenant: string;
  customers: number;
  /** Expected hub values by e-mail: name, phone, tier, company (null: none). */
  golden: Map<string, { name: string; phone: string | null; tier: string | null; company: string | null }>;
  records: { netsuite: number; zendesk: number; activecampaign: number };
  expected: { autoMerged: number; reviews: number; quarantined: number };
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

export function seedHubScenario(
  standins: Pick<RunningStandins, 'netsuite' | 'zendesk' | 'activecampaign'>,
  tenant: string,
  customers: number,
  baseMs: number,
): HubScenario {
  const iso = (s: number) => new Date(baseMs + s * 1000).toISOString().replace(/\.000Z$/, 'Z');
  const ns = (s: number) => iso(s).slice(0, 19).replace('T', ' ');
  const golden: HubScenario['golden'] = new Map();
  const records = { netsuite: 0, zendesk: 0, activecampaign: 0 };
  const expected = { autoMerged: 0, reviews: 0, quarantined: 0 };
  for (let i = 0; i < customers; i += 1) {
    const k = i % 10;
    const owner = `${tenant}-${i}`;
    const email = i % 3 === 0 ? `c${i}.${tenant}@gmail.com` : `c${i}@firm${i}-${tenant}.test`;
    const name = `Customer ${i}`;
    const phone = `+62811${pad(i, 7)}`;
    const nsTier = k < 3 ? 'pro' : 'free';
    let tier: string | null = null;
    let company: string | null = null;
    let goldenPhone: string | null = null;
    if (k <= 5) {
      standins.netsuite.editCustomer(
        { externalId: owner },
        { companyName: name, email, phone: `0811${pad(i, 7)}`, custentity_saldo_tier: nsTier },
        ns(0),
      );
      records.netsuite += 1;
      tier = nsTier;
      goldenPhone = phone;
    }
    if (k >= 3 && k <= 7) {
      const zdPhone = i % 20 === 3 ? `+62822${pad(i, 7)}` : k <= 5 ? phone : null;
      const fields: Record<string, string | null> = { company: 'Firm' };
      if (k === 5) fields['saldo_tier'] = 'enterprise'; // NetSuite's priority keeps its tier
      if (k === 6) fields['saldo_tier'] = 'pro';
      const user = { name, email, phone: zdPhone, user_fields: fields };
      if (k === 7) standins.zendesk.addUser(user, iso(10));
      else standins.zendesk.editUser(owner, user, iso(10));
      records.zendesk += 1;
      if (zdPhone) goldenPhone = zdPhone; // newer than NetSuite's: last write wins
      if (k === 6) tier = 'pro';
      company = 'Firm';
    }
    if (k >= 6) {
      const values: Record<string, string> = { '5': `Firm ${i}` }; // longer than Zendesk's "Firm": custom:longest
      if (k === 6) values['4'] = 'PRO';
      if (k === 7) values['4'] = 'free';
      if (k === 8) values['4'] = 'pro';
      standins.activecampaign.editContact(
        email,
        { firstName: 'Customer', lastName: String(i), phone: '', fieldValues: values },
        iso(20),
      );
      records.activecampaign += 1;
      if (k === 7) tier = 'free';
      if (k === 8) tier = 'pro';
      company = `Firm ${i}`;
    }
    golden.set(email, { name, phone: goldenPhone, tier, company });
    // A support agent's copy of a NetSuite customer: same name and phone, no e-mail → merged automatically.
    if (i % 100 === 1) {
      standins.zendesk.addUser({ name, email: null, phone, user_fields: {} }, iso(11));
      records.zendesk += 1;
      expected.autoMerged += 1;
    }
    // A marketing lead that is probably the same company (typo, same domain) → review queue.
    if (i % 100 === 2 && i % 3 !== 0) {
      const lead = `sales${i}@firm${i}-${tenant}.test`;
      standins.activecampaign.editContact(
        lead,
        { firstName: 'Custmer', lastName: String(i), phone: '', fieldValues: {} },
        iso(21),
      );
      records.activecampaign += 1;
      expected.reviews += 1;
      golden.set(lead, { name: `Custmer ${i}`, phone: null, tier: null, company: null });
    }
    // A broken import: quarantined, never a customer.
    if (i % 200 === 5) {
      standins.activecampaign.editContact(
        `broken-${i}-${tenant}@`,
        { firstName: 'Broken', lastName: String(i), fieldValues: {} },
        iso(22),
      );
      records.activecampaign += 1;
      expected.quarantined += 1;
    }
  }
  return { tenant, customers, golden, records, expected };
}
