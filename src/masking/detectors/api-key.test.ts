import { describe, expect, it } from 'vitest';
import { findApiKeys } from './api-key.js';

const found = (text: string) => findApiKeys(text).map((span) => text.slice(span.start, span.end));
const repeat = (chars: string, length: number) =>
  chars.repeat(Math.ceil(length / chars.length)).slice(0, length);

describe('findApiKeys', () => {
  it('finds each known shape', () => {
    for (const key of [
      'AKIAIOSFODNN7EXAMPLE',
      `ASIA${repeat('Z9', 16)}`,
      `ghp_${repeat('aB3', 36)}`,
      `ghr_${repeat('x1Y', 36)}`,
      `github_pat_${repeat('aB3_', 82)}`,
      `glpat-${repeat('a-B_3', 20)}`,
      'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx',
      `sk_live_${repeat('aB3', 24)}`,
      `pk_live_${repeat('aB3', 30)}`,
      `sk-${repeat('aB3', 48)}`,
      `sk-proj-${repeat('aB3_-', 60)}`,
      `AIza${repeat('aB3_-', 35)}`,
    ]) {
      expect(found(`key=${key}; next`), key).toEqual([key]);
    }
  });

  it('takes a PEM private key block through its END line, or the header and body lines', () => {
    const block = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc+/=\n-----END RSA PRIVATE KEY-----';
    expect(found(`file:\n${block}\nmore`)).toEqual([block]);
    expect(found('-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\nAAAA== and text')).toEqual([
      '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\nAAAA==',
    ]);
  });

  it('rejects wrong lengths, other prefixes, slugs and public material', () => {
    for (const text of [
      'AKIA1234',
      `AKIA${repeat('Z9', 17)}`,
      `xghp_${repeat('aB3', 36)}`,
      `ghp_${repeat('aB3', 35)}`,
      'sk_test_4eC39HqLyjWDarjtT1zdp7dc',
      'sk-learn-compatible-transformers-pipeline-module',
      'task-1234567890abcdefghijklmnopqrstuvwxyzABC',
      '-----BEGIN PUBLIC KEY-----',
      '-----BEGIN CERTIFICATE-----',
    ]) {
      expect(found(text), text).toEqual([]);
    }
  });
});
