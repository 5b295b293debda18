import { ProtoJsonCodec, ProtoJsonError } from './proto-json';

describe('ProtoJsonCodec', () => {
  const codec = new ProtoJsonCodec();
  const parse = (type: string, json: unknown) =>
    codec.parse(type, Buffer.from(typeof json === 'string' ? json : JSON.stringify(json)));

  it('reads proto3 JSON in lowerCamelCase or the proto names, filling defaults like the gRPC loader', () => {
    expect(
      parse('TopUpRequest', { idempotency_key: 'k', walletId: 'w', amount: '10', metadata: { a: 'b' } }),
    ).toEqual({
      idempotencyKey: 'k',
      walletId: 'w',
      amount: '10',
      reference: '',
      metadata: { a: 'b' },
      erpDocumentType: 'ERP_DOCUMENT_TYPE_UNSPECIFIED',
      erpDocumentId: '',
    });
    expect(
      parse('TopUpRequest', { erp_document_type: 'ERP_DOCUMENT_TYPE_INVOICE', erpDocumentId: 'INV-1' }),
    ).toMatchObject({ erpDocumentType: 'ERP_DOCUMENT_TYPE_INVOICE', erpDocumentId: 'INV-1' });
    expect(parse('ReserveRequest', { expiresInSeconds: '30' })).toMatchObject({
      expiresInSeconds: 30,
      productCode: '',
    });
    expect(parse('OpenWalletRequest', { ownerType: 2 })).toMatchObject({
      ownerType: 'ENTERPRISE',
      limitPeriod: 'LIMIT_PERIOD_UNSPECIFIED',
    });
    expect(parse('OpenWalletRequest', { owner_type: 'RESELLER' })).toMatchObject({ ownerType: 'RESELLER' });
  });

  it.each([
    ['not JSON', '{"a":', /not JSON/],
    ['an array', '[]', /expected a JSON object/],
    ['an unknown field', { colour: 'red' }, /colour: unknown field/],
    ['a field twice', { walletId: 'a', wallet_id: 'b' }, /given twice/],
    ['a number for a string', { amount: 10 }, /amount: expected a string/],
    ['a bad enum', { ownerType: 'ALIEN' }, /owner_type: not a value/],
    ['a negative uint32', { expiresInSeconds: -1 }, /expires_in_seconds/],
    ['a non-string map value', { metadata: { a: 1 } }, /metadata.a: expected a string/],
  ])('refuses %s', (_label, json, message) => {
    const type = _label.includes('enum')
      ? 'OpenWalletRequest'
      : _label.includes('uint32')
        ? 'ReserveRequest'
        : 'TopUpRequest';
    expect(() => parse(type, json)).toThrow(ProtoJsonError);
    expect(() => parse(type, json)).toThrow(message);
  });

  it('writes Timestamps as RFC 3339 and 64-bit integers as strings', () => {
    const json = JSON.parse(
      codec.stringify('Wallet', {
        walletId: 'w',
        version: '7',
        createdAt: { seconds: '1767225600', nanos: 500_000_000 },
        metadata: {},
      }),
    );
    expect(json).toEqual({
      walletId: 'w',
      version: '7',
      createdAt: '2026-01-01T00:00:00.500Z',
      metadata: {},
    });
  });
});
