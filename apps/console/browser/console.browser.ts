// The Console in a real browser (Debian's chromium): sign-in, finding a wallet and watching a
// top-up made through the API arrive without a reload, the balance chart, reversing a transaction
// as an operator and being refused as a viewer, replaying a dead letter, the audit log; an axe-core
// check of every page (no serious or critical violation) and a screenshot of each.
import AxeBuilder from '@axe-core/playwright';
import { expect, type Page, test } from '@playwright/test';
import { Api } from '@saldo/test-support';
import path from 'node:path';
import { Client } from 'pg';
import { PASSWORD } from './global-setup';
import { ROOT } from './playwright.config';

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (global-setup.ts sets it)`);
  return value;
};
const baseUrl = () => env('CONSOLE_TEST_BASE_URL');
const tenant = () => env('CONSOLE_TEST_TENANT');
const api = () => new Api(env('CONSOLE_TEST_AGGREGATOR'), env('CONSOLE_TEST_API_KEY'));
let seq = 0;
const key = (label: string) => `pw-${label}-${Date.now()}-${seq++}`;

async function signIn(page: Page, email: string): Promise<void> {
  await page.goto(`${baseUrl()}/`);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('whoami')).toContainText(email);
}

/** axe-core on the page as it is: no serious or critical violation; then a screenshot. */
async function checkPage(page: Page, name: string): Promise<void> {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  const serious = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
    }));
  expect(serious, `axe on ${name}`).toEqual([]);
  await page.screenshot({ path: path.join(ROOT, 'tmp/console-screenshots', `${name}.png`), fullPage: true });
}

async function openWallet(owner: string): Promise<string> {
  const wallet = await api().call<{ walletId: string }>('OpenWallet', {
    idempotencyKey: key('open'),
    ownerType: 'PERSONAL',
    ownerId: owner,
    currency: 'USD',
  });
  return wallet.walletId;
}

// One worker, in this order: the last test reads the audit entries the others made.
test('sign-in: a wrong password is refused, the right one opens the Console', async ({ page }) => {
  await page.goto(`${baseUrl()}/`);
  await checkPage(page, '01-sign-in');
  await page.getByLabel('E-mail').fill('admin@example.com');
  await page.getByLabel('Password').fill('not the password at all');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('do not match');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Find wallets' })).toBeVisible();
  const cookie = (await page.context().cookies()).find((c) => c.name === 'saldo_console_session');
  expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict' });
});

test('find a wallet; a top-up through the API appears without a reload, and in the chart', async ({
  page,
}) => {
  const owner = `alice-${Date.now()}`;
  const walletId = await openWallet(owner);
  await api().call('TopUp', { idempotencyKey: key('top'), walletId, amount: '15000', reference: 'pay-1' });
  await api().call('BookUsage', {
    idempotencyKey: key('use'),
    walletId,
    amount: '2500',
    productCode: 'esign.basic',
  });
  await signIn(page, 'operator@example.com');
  await page.getByLabel('Owner, reference or wallet id').fill(owner.slice(0, 8));
  await page.getByRole('button', { name: 'Search' }).click();
  await checkPage(page, '02-find-wallets');
  await page.getByRole('link', { name: owner }).click();
  await expect(page.getByTestId('posted-balance')).toHaveText('125.00 USD');
  await expect(page.locator('[data-testid=balance-chart] path.line')).toHaveAttribute('data-points', '2');
  // Marks this document: a reload would lose the mark.
  await page.evaluate(() => ((globalThis as unknown as { mark: number }).mark = 42));
  await api().call('TopUp', { idempotencyKey: key('top'), walletId, amount: '5050', reference: 'pay-2' });
  await expect(page.getByTestId('posted-balance')).toHaveText('175.50 USD');
  await expect(page.locator('[data-testid=balance-chart] path.line')).toHaveAttribute('data-points', '3');
  await expect(page.getByTestId('transactions').getByRole('row')).toHaveCount(4); // header + 3
  expect(await page.evaluate(() => (globalThis as unknown as { mark?: number }).mark)).toBe(42);
  await checkPage(page, '03-wallet');
});

test('an operator reverses a transaction (with confirmation, once); a viewer may not', async ({
  browser,
}) => {
  const walletId = await openWallet(`bob-${Date.now()}`);
  const topUp = await api().call<{ transactionId: string }>('TopUp', {
    idempotencyKey: key('top'),
    walletId,
    amount: '9900',
  });
  const txUrl = `${baseUrl()}/t/${tenant()}/transactions/${topUp.transactionId}`;

  const viewerContext = await browser.newContext();
  const viewer = await viewerContext.newPage();
  await signIn(viewer, 'viewer@example.com');
  await viewer.goto(txUrl);
  await expect(viewer.getByTestId('transaction-status')).toHaveText('POSTED');
  await expect(viewer.getByRole('button', { name: 'Reverse' })).toBeDisabled();
  // The server refuses too, whatever the page shows.
  const refused = await viewer.evaluate(async (url) => {
    const session = (await (await fetch('/api/session')).json()) as { csrfToken: string };
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': session.csrfToken },
      body: JSON.stringify({ idempotencyKey: 'viewer-tries-1' }),
    });
    return { status: response.status, body: (await response.json()) as { error: { code: string } } };
  }, `/api/tenants/${tenant()}/transactions/${topUp.transactionId}/void`);
  expect(refused.status).toBe(403);
  expect(refused.body.error.code).toBe('FORBIDDEN');
  await viewerContext.close();

  const operatorContext = await browser.newContext();
  const page = await operatorContext.newPage();
  await signIn(page, 'operator@example.com');
  await page.goto(txUrl);
  await checkPage(page, '04-transaction');
  await page.getByRole('button', { name: 'Reverse' }).click();
  const dialog = page.getByRole('dialog', { name: 'Reverse this transaction?' });
  await expect(dialog).toBeVisible();
  await checkPage(page, '05-confirm-reverse');
  await dialog.getByRole('button', { name: 'Reverse it' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId('transaction-status')).toHaveText('REVERSED');
  const wallet = await api().call<{ postedBalance: string }>('GetWallet', { walletId });
  expect(wallet.postedBalance).toBe('0');
  await operatorContext.close();
});

test('CSRF: a change without the session token, or not as JSON, is refused', async ({ page }) => {
  await signIn(page, 'operator@example.com');
  const statuses = await page.evaluate(async (url) => {
    const noToken = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"ids":["1"]}',
    });
    const form = await fetch(url, { method: 'POST', body: new URLSearchParams({ ids: '1' }) });
    return [noToken.status, form.status];
  }, `/api/tenants/${tenant()}/sync/dead-letters/replay`);
  expect(statuses).toEqual([403, 403]);
});

test('dead letters grouped by reason; an operator replays one', async ({ page }) => {
  const db = new Client({ connectionString: env('CONSOLE_TEST_DATABASE_URL') });
  await db.connect();
  try {
    const reason = 'netsuite 400: invalid subsidiary';
    const rows = await db.query<{ id: string }>(
      `INSERT INTO erp_sync.sync_records (connector, record_key, tenant_id, kind, priority, state, attempts, dead_reason, last_error)
       VALUES ('netsuite', $1, $2, 'journal_entry', 1, 'dead', 8, $3, 'HTTP 400'),
              ('netsuite', $4, $2, 'journal_entry', 1, 'dead', 8, $3, 'HTTP 400')
       RETURNING id::text`,
      [`je-${Date.now()}-a`, tenant(), reason, `je-${Date.now()}-b`],
    );
    const [first, second] = rows.rows.map((r) => r.id);
    await signIn(page, 'operator@example.com');
    await page.getByRole('link', { name: 'Sync' }).click();
    await expect(page.getByRole('heading', { name: 'Sync health' })).toBeVisible();
    await expect(page.getByText(reason)).toBeVisible();
    await checkPage(page, '06-sync');
    await page.getByRole('checkbox', { name: `Select record ${first}` }).check();
    await page.getByRole('button', { name: 'Replay selected (1)' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Replay' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Replayed 1' })).toBeVisible();
    await expect(page.getByRole('checkbox', { name: `Select record ${first}` })).toHaveCount(0);
    await expect(page.getByRole('checkbox', { name: `Select record ${second}` })).toBeVisible();
    const states = await db.query<{ id: string; state: string }>(
      `SELECT id::text, state FROM erp_sync.sync_records WHERE id = ANY($1::bigint[]) ORDER BY id`,
      [[first, second]],
    );
    expect(states.rows).toEqual([
      { id: first, state: 'pending' },
      { id: second, state: 'dead' },
    ]);
  } finally {
    await db.end();
  }
});

test('an admin gives a colleague a role, they sign in with it, and the admin removes it', async ({
  browser,
}) => {
  const colleague = `colleague-${Date.now()}@example.com`;
  const adminContext = await browser.newContext();
  const admin = await adminContext.newPage();
  await signIn(admin, 'admin@example.com');
  await admin.getByRole('link', { name: 'Users' }).click();
  await admin.getByLabel('E-mail').fill(colleague);
  await admin.getByLabel('Role', { exact: true }).selectOption('viewer');
  await admin.getByLabel('Initial password (new users)').fill(PASSWORD);
  await admin.getByRole('button', { name: 'Save' }).click();
  await expect(admin.getByRole('status')).toContainText(`${colleague} is now viewer`);
  await expect(admin.getByTestId('users').getByRole('row').filter({ hasText: colleague })).toContainText(
    'viewer',
  );
  await checkPage(admin, '08-users');

  const colleagueContext = await browser.newContext();
  const page = await colleagueContext.newPage();
  await signIn(page, colleague);
  await expect(page.getByTestId('whoami')).toContainText('viewer');
  await expect(page.getByRole('link', { name: 'Users' })).toHaveCount(0);
  await colleagueContext.close();

  await admin.getByRole('button', { name: `Remove ${colleague}` }).click();
  await admin.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
  await expect(admin.getByTestId('users').getByRole('row').filter({ hasText: colleague })).toHaveCount(0);
  await adminContext.close();
});

test('the admin sees every change in the audit log', async ({ page }) => {
  await signIn(page, 'admin@example.com');
  await page.getByRole('link', { name: 'Audit log' }).click();
  const audit = page.getByTestId('audit');
  await expect(
    audit
      .getByRole('row')
      .filter({ hasText: 'transaction.void' })
      .filter({ hasText: 'operator@example.com' })
      .first(),
  ).toContainText('ok');
  await expect(
    audit
      .getByRole('row')
      .filter({ hasText: 'transaction.void' })
      .filter({ hasText: 'viewer@example.com' })
      .first(),
  ).toContainText('refused');
  await expect(audit.getByRole('row').filter({ hasText: 'sync.replay' }).first()).toContainText(
    'operator@example.com',
  );
  for (const action of ['user.create', 'user.remove'])
    await expect(
      audit.getByRole('row').filter({ hasText: action }).filter({ hasText: 'admin@example.com' }).first(),
    ).toContainText('ok');
  await checkPage(page, '07-audit');
});
