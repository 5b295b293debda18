import { parseAmount, parseArgs, UsageError } from './args';
import { eventLine } from './commands/events';
import { parseCreatedKey, parseKeyList, parseRecordCounts } from './commands/operator';
import { formatMinor, table } from './format';

describe('saldo CLI parts', () => {
  it('accepts amounts as digits of minor units only, up to int64', () => {
    expect(parseAmount('15000')).toBe('15000');
    expect(parseAmount('0009')).toBe('9');
    expect(parseAmount('9223372036854775807')).toBe('9223372036854775807');
    for (const bad of ['10.50', '1e3', '-5', '0', '', ' 5', '9223372036854775808', '0x10'])
      expect(() => parseAmount(bad)).toThrow(UsageError);
  });

  it('formats minor units exactly, without floating point', () => {
    expect(formatMinor('93450', 2)).toBe('934.50');
    expect(formatMinor('5', 2)).toBe('0.05');
    expect(formatMinor('-1050', 2)).toBe('-10.50');
    expect(formatMinor('1234567', 0)).toBe('1,234,567');
    expect(formatMinor('9223372036854775807', 2)).toBe('92,233,720,368,547,758.07');
  });

  it('parses flags, refuses unknown ones and values given twice', () => {
    const args = parseArgs(['w1', '--json', '--metadata', 'a=1', '--metadata=b=2', '--reference', 'r'], {
      values: ['reference'],
      repeatable: ['metadata'],
    });
    expect(args.positionals).toEqual(['w1']);
    expect(args.has('json')).toBe(true);
    expect(args.values('metadata')).toEqual(['a=1', 'b=2']);
    expect(() => parseArgs(['--nope'], {})).toThrow('Unknown option --nope.');
    expect(() => parseArgs(['--reference', 'a', '--reference', 'b'], { values: ['reference'] })).toThrow(
      '--reference is given more than once.',
    );
    expect(() => parseArgs(['--reference'], { values: ['reference'] })).toThrow('--reference needs a value.');
  });

  it('aligns tables, numbers to the right', () => {
    expect(
      table(
        ['A', 'N'],
        [
          ['x', '5'],
          ['long', '1234'],
        ],
        [1],
      ),
    ).toBe('A        N\n----  ----\nx        5\nlong  1234\n');
  });

  it('reads the delegated CLIs output and erp-sync metrics', () => {
    expect(
      parseCreatedKey('key id: 6f1c2a9e-0000-4000-8000-000000000001\ntenant: demo\nkey:    sk_abc\n'),
    ).toEqual({
      id: '6f1c2a9e-0000-4000-8000-000000000001',
      tenant: 'demo',
      key: 'sk_abc',
    });
    expect(
      parseKeyList(
        'id1  demo                 sk_d…abcd api  2026-01-01T00:00:00.000Z  revoked 2026-01-02T00:00:00.000Z\n',
      ),
    ).toEqual([
      {
        id: 'id1',
        tenant: 'demo',
        hint: 'sk_d…abcd',
        source: 'api',
        createdAt: '2026-01-01T00:00:00.000Z',
        revokedAt: '2026-01-02T00:00:00.000Z',
      },
    ]);
    const metrics = [
      '# HELP saldo_erp_sync_records Sync records by connector and state',
      'saldo_erp_sync_records{connector="netsuite",state="pending",service="erp-sync"} 12',
      'saldo_erp_sync_records{connector="netsuite",state="dead",service="erp-sync"} 1',
      'saldo_erp_sync_other 3',
    ].join('\n');
    expect(parseRecordCounts(metrics)).toEqual([
      { connector: 'netsuite', state: 'dead', records: 1 },
      { connector: 'netsuite', state: 'pending', records: 12 },
    ]);
  });

  it('prints a ledger event on one readable line', () => {
    expect(
      eventLine({
        occurredAt: '2026-01-01T00:00:00Z',
        type: 'LEDGER_EVENT_TYPE_TRANSACTION_POSTED',
        tenantId: 'demo',
        wallet: {
          walletId: 'w1',
          version: '3',
          postedDelta: '-400',
          postedBalance: '500',
          availableBalance: '500',
          currency: 'IDR',
        },
        businessAction: { action: 'USAGE', productCode: 'esign' },
        transaction: { transactionId: 't1' },
      }),
    ).toBe(
      '2026-01-01T00:00:00Z  transaction posted          tenant=demo  wallet=w1 v3  usage esign  posted -400 → 500 IDR, available 500  tx=t1',
    );
  });
});
