// harness/setup/debfetch.ts: our private sources list is derived from the system's mirrors (never
// a hard-coded host), with the components we ask for, and meta packages resolve to real ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fixturesDir } from '../../../harness/core/paths.ts';
import {
  parseDeb822Sources,
  parseDepends,
  parseOneLineSources,
  renderSourcesList,
} from '../../../harness/setup/debfetch.ts';

const recorded = fs.readFileSync(path.join(fixturesDir(), 'guest', 'debian.sources'), 'utf8');

test('the recorded debian.sources gives bookworm, -updates and -security with their keyring', () => {
  const s = parseDeb822Sources(recorded);
  assert.deepEqual(
    s.map((x) => [x.uri, x.suites]),
    [
      ['http://deb.debian.org/debian', ['bookworm', 'bookworm-updates']],
      ['http://deb.debian.org/debian-security', ['bookworm-security']],
    ],
  );
  assert.ok(s.every((x) => x.signedBy === '/usr/share/keyrings/debian-archive-keyring.gpg'));
});

test('our sources list names every mirror and suite with the requested components', () => {
  const text = renderSourcesList(parseDeb822Sources(recorded), ['main', 'non-free']);
  const lines = text.split('\n').filter((l) => l.startsWith('deb '));
  assert.deepEqual(lines, [
    'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main non-free',
    'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-updates main non-free',
    'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main non-free',
  ]);
});

test('disabled stanzas, deb-src and other releases are left out (constructed input)', () => {
  const text = [
    'Types: deb-src\nURIs: http://m.example/debian\nSuites: bookworm\nComponents: main',
    'Types: deb\nURIs: http://m.example/debian\nSuites: trixie\nComponents: main',
    'Types: deb\nEnabled: no\nURIs: http://off.example/debian\nSuites: bookworm\nComponents: main',
    '# comment\nTypes: deb\nURIs: http://on.example/debian\nSuites: bookworm sid\nComponents: main',
  ].join('\n\n');
  assert.deepEqual(parseDeb822Sources(text), [{ uri: 'http://on.example/debian', suites: ['bookworm'], signedBy: undefined }]);
});

test('one-line sources.list entries are understood too (constructed input)', () => {
  const text = [
    'deb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main',
    'deb http://m.example/debian bookworm-updates main contrib',
    '# deb http://commented.example/debian bookworm main',
    'deb-src http://m.example/debian bookworm main',
    'deb http://m.example/debian bullseye main',
  ].join('\n');
  assert.deepEqual(parseOneLineSources(text), [{ uri: 'http://m.example/debian', suites: ['bookworm', 'bookworm-updates'], signedBy: '/k.gpg' }]);
});

test('Depends: first alternative, no version constraints or arch qualifiers', () => {
  assert.deepEqual(parseDepends('linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2)'), ['linux-image-6.1.0-56-cloud-amd64']);
  assert.deepEqual(parseDepends('libc6 (>= 2.34), libssl3 (>= 3.0.0) | libssl1.1, python3:any'), ['libc6', 'libssl3', 'python3']);
  assert.deepEqual(parseDepends(undefined), []);
});
