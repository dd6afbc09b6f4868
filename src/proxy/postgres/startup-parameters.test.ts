import { describe, expect, it } from 'vitest';
import { checkStartupParameters } from './startup-parameters.js';

describe('checkStartupParameters', () => {
  it('forwards formatting settings and drops user/database', () => {
    const result = checkStartupParameters(
      new Map([
        ['user', 'at_x'],
        ['database', 'shop'],
        ['application_name', 'psql'],
        ['client_encoding', 'UTF8'],
        ['DateStyle', 'ISO'],
      ]),
    );
    expect(result).toEqual({
      ok: true,
      forwarded: { application_name: 'psql', client_encoding: 'UTF8', DateStyle: 'ISO' },
      protocolOptions: [],
    });
  });

  it.each([
    'options',
    'replication',
    'role',
    'session_authorization',
    'search_path',
    'default_transaction_read_only',
  ])('refuses %s, which could change identity or safety', (name) => {
    expect(checkStartupParameters(new Map([[name, 'x']]))).toEqual({ ok: false, refused: name });
  });

  it('collects _pq_ protocol options for NegotiateProtocolVersion instead of forwarding them', () => {
    expect(checkStartupParameters(new Map([['_pq_.compression', 'on']]))).toEqual({
      ok: true,
      forwarded: {},
      protocolOptions: ['_pq_.compression'],
    });
  });

  it.each(['SJIS', 'Shift_JIS', 'BIG5', 'gbk', 'WIN949', 'GB18030', 'johab'])(
    'refuses client_encoding %s, whose multibyte characters can hide quotes and backslashes',
    (encoding) => {
      expect(checkStartupParameters(new Map([['client_encoding', encoding]]))).toEqual({
        ok: false,
        refused: `client_encoding=${encoding}`,
      });
    },
  );

  it.each(['UTF8', 'utf-8', 'SQL_ASCII', 'LATIN1', 'EUC_JP', 'WIN1252'])(
    'accepts client_encoding %s',
    (encoding) => {
      expect(checkStartupParameters(new Map([['client_encoding', encoding]])).ok).toBe(true);
    },
  );
});
