import { describe, expect, it } from 'vitest';
import { findIpv4Addresses, findIpv6Addresses } from './ip-address.js';

const v4 = (text: string) => findIpv4Addresses(text).map((span) => text.slice(span.start, span.end));
const v6 = (text: string) => findIpv6Addresses(text).map((span) => text.slice(span.start, span.end));

describe('findIpv4Addresses', () => {
  it('finds dotted quads with ports, CIDR suffixes and at sentence ends', () => {
    expect(v4('from 192.0.2.1:5432 and 10.0.0.0/8.')).toEqual(['192.0.2.1', '10.0.0.0']);
    expect(v4('0.0.0.0 255.255.255.255')).toEqual(['0.0.0.0', '255.255.255.255']);
    expect(v4('ip=203.0.113.7.')).toEqual(['203.0.113.7']);
  });

  it('rejects octets over 255, leading zeros and longer dotted numbers', () => {
    for (const text of [
      '256.1.2.3',
      '192.168.1.300',
      '01.2.3.4',
      '1.2.3.04',
      '1.2.3.4.5',
      'v1.2.3.4',
      '1.2.3',
      'OID 1.3.6.1.4.1.343',
    ]) {
      expect(v4(text), text).toEqual([]);
    }
  });
});

describe('findIpv6Addresses', () => {
  it('finds full, compressed and IPv4-tailed addresses', () => {
    for (const ip of [
      '2001:0db8:85a3:0000:0000:8a2e:0370:7334',
      '2001:db8::1',
      '::1',
      'fe80::1ff:fe23:4567:890a',
      '::ffff:192.0.2.128',
    ]) {
      expect(v6(`addr ${ip} up`), ip).toEqual([ip]);
    }
    expect(v6('http://[2001:db8::a]:8080/')).toEqual(['2001:db8::a']);
  });

  it('rejects times, MAC addresses, scopes and invalid groups', () => {
    for (const text of [
      '12:30:45',
      '00:1A:2B:3C:4D:5E',
      'std::vector and bad::add',
      '2001:db8:::1',
      '1:2:3:4:5:6:7:8:9',
      '12345::1',
    ]) {
      expect(v6(text), text).toEqual([]);
    }
  });
});
