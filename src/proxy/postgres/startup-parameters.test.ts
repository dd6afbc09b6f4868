import { describe, expect, it } from 'vitest';
import { checkStartupParameters, withSessionLabel } from './startup-parameters.js';

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
      forwarded: {
        application_name: 'psql',
        DateStyle: 'ISO',
        client_encoding: 'UTF8',
        standard_conforming_strings: 'on',
      },
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
      forwarded: { client_encoding: 'UTF8', standard_conforming_strings: 'on' },
      protocolOptions: ['_pq_.compression'],
    });
  });

  it.each(['SJIS', 'Shift_JIS', 'BIG5', 'gbk', 'WIN949', 'GB18030', 'johab', 'LATIN1', 'EUC_JP', 'WIN1252'])(
    'refuses client_encoding %s: the gateway and the server must read the same characters',
    (encoding) => {
      expect(checkStartupParameters(new Map([['client_encoding', encoding]]))).toEqual({
        ok: false,
        refused: `client_encoding=${encoding}`,
      });
    },
  );

  it.each(['UTF8', 'utf-8', 'unicode', 'SQL_ASCII'])(
    'accepts client_encoding %s and opens the upstream in UTF8',
    (encoding) => {
      expect(checkStartupParameters(new Map([['client_encoding', encoding]]))).toEqual({
        ok: true,
        forwarded: { client_encoding: 'UTF8', standard_conforming_strings: 'on' },
        protocolOptions: [],
      });
    },
  );

  it('always opens the upstream session in UTF8, even when the agent does not say', () => {
    expect(checkStartupParameters(new Map())).toEqual({
      ok: true,
      forwarded: { client_encoding: 'UTF8', standard_conforming_strings: 'on' },
      protocolOptions: [],
    });
  });

  it('refuses standard_conforming_strings, which would change where strings end', () => {
    expect(checkStartupParameters(new Map([['standard_conforming_strings', 'off']]))).toEqual({
      ok: false,
      refused: 'standard_conforming_strings',
    });
  });
});

describe('withSessionLabel', () => {
  it('names the token and run first, then the agent label, under the one canonical parameter name', () => {
    expect(
      withSessionLabel({ Application_Name: 'psql', DateStyle: 'ISO' }, { tokenId: 'at_1', runId: '42-1' }),
    ).toEqual({ DateStyle: 'ISO', application_name: 'airlock:at_1 run:42-1 psql' });
    expect(withSessionLabel({}, { tokenId: 'at_1', runId: null })).toEqual({
      application_name: 'airlock:at_1',
    });
  });
});
