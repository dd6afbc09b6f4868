import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { surrounding, validEmail } from '../../../test/masking/sensitive-arbitraries.js';
import { findEmails } from './email.js';

const found = (text: string) => findEmails(text).map((span) => text.slice(span.start, span.end));

describe('findEmails', () => {
  it('finds addresses in prose, headers, JSON and URLs', () => {
    expect(found('Contact jane.doe@example.com today.')).toEqual(['jane.doe@example.com']);
    expect(found('From: "Jane" <j.doe+news@mail.example.co.uk>')).toEqual(['j.doe+news@mail.example.co.uk']);
    expect(found('{"email":"A_B-c@Example.ORG"}')).toEqual(['A_B-c@Example.ORG']);
    expect(found('mailto:sales@example.com?subject=hi')).toEqual(['sales@example.com']);
    expect(found('a@example.com,b@example.org')).toEqual(['a@example.com', 'b@example.org']);
  });

  it('starts the local part after any "..", at a letter, digit or underscore', () => {
    expect(found('see...jo@example.org')).toEqual(['jo@example.org']);
    expect(found('-.x@example.org')).toEqual(['x@example.org']);
    expect(found('jo..doe@example.com')).toEqual(['doe@example.com']);
  });

  it('needs a dotted domain with a TLD of two or more letters', () => {
    expect(found('root@localhost')).toEqual([]);
    expect(found('a@b')).toEqual([]);
    expect(found('x@example.c')).toEqual([]);
    expect(found('x@example.c0m')).toEqual([]);
    expect(found('lodash@4.17.21')).toEqual([]);
    expect(found('x@-example.com')).toEqual([]);
    expect(found('x@example..com')).toEqual([]);
  });

  it('does not take addresses out of longer tokens or asset names', () => {
    expect(found('logo@2x.png and icon@3x.jpg')).toEqual([]);
    expect(found('a@b@example.com')).toEqual([]);
    expect(found('x@example.com@other')).toEqual([]);
    expect(found('follow @handle')).toEqual([]);
  });

  it('finds every generated address, wherever it stands', () => {
    fc.assert(
      fc.property(validEmail, surrounding, (email, [before, after]) => {
        expect(found(`${before}${email}${after}`)).toEqual([email]);
      }),
    );
  });
});
