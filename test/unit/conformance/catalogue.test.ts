// The requirement catalogue: every check has its transport rules and every rule a check, no text
// is empty, a transport a check cannot run on is described as not expressible, and the committed
// docs/conformance-requirements.md is exactly what the checks and rules render to today.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { CATALOGUE_PATH, renderCatalogue } from '../../../suites/conformance/catalogue.ts';
import { CHECKS } from '../../../suites/conformance/index.ts';
import { TRANSPORT_RULES, type RequirementRules } from '../../../suites/conformance/transport-rules.ts';

const FIELDS: (keyof RequirementRules)[] = ['requirement', 'howChecked', 'vhostUser', 'vhostNet'];
/** Which text describes a transport a check may declare it cannot run on. */
const TEXT_FOR = { 'vhost-user': 'vhostUser', 'vhost-net': 'vhostNet' } as const;

test('every check has transport rules, and every rule names a check', () => {
  const ids = CHECKS.map((c) => c.id);
  const ruled = Object.keys(TRANSPORT_RULES);
  assert.deepEqual(ids.filter((id) => !ruled.includes(id)), [], 'checks without transport rules');
  assert.deepEqual(ruled.filter((id) => !ids.includes(id)), [], 'transport rules for no check');
  assert.ok(ids.includes('A1') && ids.includes('A7'), 'the adversarial checks are in the catalogue');
});

test('every text is non-empty', () => {
  for (const [id, r] of Object.entries(TRANSPORT_RULES)) {
    for (const f of FIELDS) assert.ok(typeof r[f] === 'string' && r[f].trim().length > 0, `${id}.${f} is empty`);
  }
});

test("a transport a check cannot run on is described as 'not expressible'", () => {
  for (const c of CHECKS) {
    for (const [transport, why] of Object.entries(c.cannot ?? {})) {
      assert.ok(why && why.trim(), `${c.id}: cannot[${transport}] gives no reason`);
      const field = TEXT_FOR[transport as keyof typeof TEXT_FOR];
      if (!field) continue; // in-process has no text of its own: the catalogue prints the reason
      const text = TRANSPORT_RULES[c.id][field];
      assert.ok(text.startsWith('not expressible'), `${c.id}: cannot run on ${transport} (${why}) but its ${field} text reads "${text.slice(0, 60)}…"`);
    }
  }
});

test('the rendering is deterministic and covers every check in catalogue order', () => {
  const a = renderCatalogue(CHECKS, TRANSPORT_RULES);
  assert.equal(renderCatalogue(CHECKS, TRANSPORT_RULES), a);
  const headings = [...a.matchAll(/^### (\S+)$/gm)].map((m) => m[1]);
  assert.deepEqual(headings, CHECKS.map((c) => c.id));
  for (const c of CHECKS) assert.ok(a.includes(`| [${c.id}](#${c.id.toLowerCase()}) |`), `${c.id} missing from the summary table`);
  assert.throws(() => renderCatalogue(CHECKS, { ...TRANSPORT_RULES, F1: undefined as unknown as RequirementRules }), /no transport rules for F1/);
});

test(`${CATALOGUE_PATH} is up to date (regenerate with npm run docs:conformance)`, () => {
  const committed = fs.readFileSync(new URL(`../../../${CATALOGUE_PATH}`, import.meta.url), 'utf8');
  assert.equal(committed, renderCatalogue(CHECKS, TRANSPORT_RULES), `${CATALOGUE_PATH} is stale: run npm run docs:conformance`);
});
