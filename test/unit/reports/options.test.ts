// Command-line value parsing for report/compare: accepted forms and precise usage errors.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../../harness/core/errors.ts';
import { ensureOutDir, parseConfidence, parseFormats, parseThreshold, requireRunDir } from '../../../reports/options.ts';
import { tempDir } from './synthetic.ts';

const tmp = tempDir();
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const usage = (re: RegExp) => (e: unknown) => e instanceof UsageError && re.test(e.message + (e.hint ?? ''));

test('threshold: "5%", "5", "2.5 %" are percent; words, negatives and >= 100 % are errors', () => {
  assert.equal(parseThreshold('5%'), 5);
  assert.equal(parseThreshold('5'), 5);
  assert.equal(parseThreshold('2.5 %'), 2.5);
  assert.equal(parseThreshold('0'), 0);
  assert.throws(() => parseThreshold('5 percent'), usage(/not a percentage.*--threshold 5%/));
  assert.throws(() => parseThreshold('-5%'), usage(/not a percentage/));
  assert.throws(() => parseThreshold('0.05.1'), usage(/not a percentage/));
  assert.throws(() => parseThreshold('150%'), usage(/out of range/));
});

test('confidence: a level in (0.5, 1), as a fraction or a percentage', () => {
  assert.equal(parseConfidence('0.95'), 0.95);
  assert.equal(parseConfidence('99%'), 0.99);
  for (const bad of ['1', '0.5', '95', 'high', '100%', '']) assert.throws(() => parseConfidence(bad), usage(/not a confidence level/), bad);
});

test('formats: comma lists, case-insensitive, deduplicated; unknown or empty ones are errors', () => {
  const allowed = ['html', 'csv', 'junit'] as const;
  assert.deepEqual(parseFormats('HTML, csv,html', allowed), ['html', 'csv']);
  assert.throws(() => parseFormats('html,docx', allowed), usage(/unknown format "docx".*html, csv, junit/));
  assert.throws(() => parseFormats(' , ', allowed), usage(/is empty/));
  assert.throws(() => parseFormats('none,x', ['none'] as const, '--fail-on'), usage(/^--fail-on: unknown format "x"/));
});

test('run directories: missing, a file, or without manifest.json are usage errors', () => {
  const file = path.join(tmp, 'file');
  fs.writeFileSync(file, 'x');
  assert.throws(() => requireRunDir(path.join(tmp, 'nope')), usage(/does not exist/));
  assert.throws(() => requireRunDir(file), usage(/is not a directory/));
  assert.throws(() => requireRunDir(tmp, 'BASELINE'), usage(/^BASELINE .* is not a run directory \(no manifest.json\)/));
  fs.writeFileSync(path.join(tmp, 'manifest.json'), '{}');
  assert.equal(requireRunDir(tmp), tmp);
  assert.throws(() => ensureOutDir(file), usage(/exists and is not a directory/));
  assert.equal(ensureOutDir(path.join(tmp, 'a', 'b')), path.join(tmp, 'a', 'b'));
  assert.ok(fs.statSync(path.join(tmp, 'a', 'b')).isDirectory());
});
