/**
 * `npm run bench:detectors`: content detection (findSensitive, every class) over the labelled corpus
 * test/fixtures/masking/detector-corpus.jsonl; prints TP, FP, FN, precision and recall per class and
 * every wrong or missed finding.
 */
import { readFileSync } from 'node:fs';
import { formatScoreTable, parseDetectorCorpus, scoreDetectors } from '../src/masking/detector-scoring.js';

const corpusPath = new URL('../test/fixtures/masking/detector-corpus.jsonl', import.meta.url);
const score = scoreDetectors(parseDetectorCorpus(readFileSync(corpusPath, 'utf8')));
process.stdout.write(`${score.lines} corpus lines\n\n${formatScoreTable(score)}\n`);
if (score.errors.length > 0) {
  process.stdout.write('\nerrors:\n');
  for (const error of score.errors) {
    process.stdout.write(`  line ${error.line}: ${error.kind} ${error.cls} ${JSON.stringify(error.value)}\n`);
  }
}
