import { describe, expect, it } from 'vitest';
import { findPhones } from './phone.js';

/** The longest phone found in `text` (the detector may report nested shapes; the caller resolves). */
const found = (text: string) => {
  const spans = findPhones(text).sort((a, b) => b.end - b.start - (a.end - a.start) || a.start - b.start);
  const kept = spans.filter((span, i) =>
    spans.slice(0, i).every((o) => span.end <= o.start || span.start >= o.end),
  );
  return kept.sort((a, b) => a.start - b.start).map((span) => text.slice(span.start, span.end));
};

describe('findPhones', () => {
  it('finds international numbers with a +', () => {
    for (const phone of [
      '+14155552671',
      '+1 415 555 2671',
      '+1-415-555-2671',
      '+1 (415) 555-2671',
      '+1 415-555-2671',
      '+44 20 7946 0958',
      '+44 (0)20 7946 0958',
      '+49 30 1234567',
      '+33 1 99 00 12 34',
      '+353 1 555 0123',
    ]) {
      expect(found(`call ${phone} now`), phone).toEqual([phone]);
    }
  });

  it('finds North American national formats', () => {
    for (const phone of [
      '(415) 555-2671',
      '(415)555-2671',
      '415-555-2671',
      '415.555.2671',
      '415 555 2671',
      '1-800-555-0199',
    ]) {
      expect(found(`tel ${phone}.`), phone).toEqual([phone]);
    }
  });

  it('finds European national formats with a trunk 0 and separators', () => {
    for (const phone of [
      '020 7946 0958',
      '(020) 7946 0958',
      '07700 900123',
      '0161 496 0000',
      '030 1234567',
      '030/1234567',
      '030-1234567',
      '01 99 00 12 34',
      '01.99.00.12.34',
      '06 1234 5678',
    ]) {
      expect(found(`Tel: ${phone}, thanks`), phone).toEqual([phone]);
    }
  });

  it('rejects area codes and exchanges starting 0 or 1, and too few or too many digits', () => {
    expect(found('123-456-7890')).toEqual([]);
    expect(found('415-155-2671')).toEqual([]);
    expect(found('555-0123')).toEqual([]);
    expect(found('+1234567')).toEqual([]);
    expect(found('+0 20 7946 0958')).toEqual([]);
    expect(found('+1234567890123456')).toEqual([]);
    expect(found('0123 4567 8901 2345')).toEqual([]);
  });

  it('does not take bare digit runs, dates, times, versions, decimals or UUIDs', () => {
    for (const text of [
      '4155552671',
      '07700900123',
      'order 100234987 at 1705312800',
      '2024-01-15',
      '+2024-01-15',
      '15.01.2024 and 01/02/2019',
      '01.02.2024 10.30',
      '10:30:00',
      'v10.15.7 and 1.2.3.4',
      '3.14159265358979',
      '550e8400-e29b-41d4-a716-446655440000',
      '010.001.002.003',
      '978-3-16-148410-0',
      '415-555-2671-99',
    ]) {
      expect(found(text), text).toEqual([]);
    }
  });

  it('does not take the digit groups of an IBAN for a phone', () => {
    expect(found('DE89 3704 0044 0532 0130 01')).toEqual([]);
  });
});
