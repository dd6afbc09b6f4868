/**
 * Content detection against the labelled corpus: precision and recall per class must stay at or above
 * the targets of issue 5, and the committed corpus must be what its generator writes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDetectorCorpus, scoreDetectors } from '../../src/masking/detector-scoring.js';
import { SENSITIVE_CLASSES } from '../../src/masking/sensitive-class.js';
import { DETECTOR_CORPUS_PATH, detectorCorpusJsonl } from '../fixtures/masking/make-detector-corpus.js';

const MIN_PRECISION = 0.97;
const MIN_RECALL = 0.95;

const jsonl = readFileSync(DETECTOR_CORPUS_PATH, 'utf8');
const corpus = parseDetectorCorpus(jsonl);

describe('detector corpus', () => {
  it('is what make-detector-corpus.ts writes', () => {
    expect(jsonl).toBe(detectorCorpusJsonl());
  });

  it('has at least 400 lines, positives of every class and hard negatives', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(400);
    for (const cls of SENSITIVE_CLASSES) {
      expect(
        corpus.filter((line) => line.expect.some((item) => item.cls === cls)).length,
        cls,
      ).toBeGreaterThan(20);
    }
    expect(corpus.filter((line) => line.expect.length === 0).length).toBeGreaterThan(100);
  });

  const score = scoreDetectors(corpus);
  for (const cls of score.perClass) {
    it(`${cls.cls}: precision ≥ ${MIN_PRECISION}, recall ≥ ${MIN_RECALL}`, () => {
      const errors = score.errors.filter((error) => error.cls === cls.cls);
      expect(cls.precision, JSON.stringify(errors)).toBeGreaterThanOrEqual(MIN_PRECISION);
      expect(cls.recall, JSON.stringify(errors)).toBeGreaterThanOrEqual(MIN_RECALL);
    });
  }
});

describe('scoreDetectors', () => {
  it('counts a finding of the wrong class or extent as a false positive and the label as missed', () => {
    const result = scoreDetectors([
      { text: 'mail jane@example.com', expect: [{ cls: 'phone', value: 'jane@example.com' }] },
      { text: 'ip 192.0.2.1', expect: [{ cls: 'ip_address', value: '192.0.2.1' }] },
      { text: 'nothing', expect: [] },
    ]);
    const byClass = Object.fromEntries(result.perClass.map((s) => [s.cls, s]));
    expect(byClass.email).toMatchObject({ truePositives: 0, falsePositives: 1, precision: 0 });
    expect(byClass.phone).toMatchObject({ falseNegatives: 1, recall: 0, precision: 1 });
    expect(byClass.ip_address).toMatchObject({ truePositives: 1, precision: 1, recall: 1 });
    expect(result.overall).toMatchObject({ truePositives: 1, falsePositives: 1, falseNegatives: 1 });
  });

  it('parseDetectorCorpus names a malformed line', () => {
    expect(() => parseDetectorCorpus('{"text":"a","expect":[{"cls":"nope","value":"a"}]}')).toThrow(/line 1/);
    expect(() => parseDetectorCorpus('{"text":"a","expect":[{"cls":"email","value":"b"}]}')).toThrow(
      /not in its text/,
    );
  });
});
