import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_SUBNET,
  hostAddress,
  ipToInt,
  isLocallyAdministeredUnicast,
  isUsableHost,
  macFor,
  MAC_ROLE,
  parseSubnet,
} from '../../../harness/topology/addressing.ts';
import { UsageError } from '../../../harness/core/errors.ts';

test('default subnet gives peer .1 and guest .2 in 198.18.0.0/24', () => {
  const s = parseSubnet(DEFAULT_SUBNET);
  assert.equal(s.prefixLen, 24);
  assert.equal(hostAddress(s, 1), '198.18.0.1');
  assert.equal(hostAddress(s, 2), '198.18.0.2');
});

test('subnet errors name the key and the fix', () => {
  assert.throws(() => parseSubnet('198.18.0.1/24'), (e: unknown) => e instanceof UsageError && /host bits set/.test(e.message) && /198\.18\.0\.0\/24/.test(e.hint ?? ''));
  assert.throws(() => parseSubnet('198.18.0.0/31'), (e: unknown) => e instanceof UsageError && /no room/.test(e.message));
  assert.throws(() => parseSubnet('198.18.0.0'), (e: unknown) => e instanceof UsageError && /topology\.subnet/.test(e.message));
  assert.throws(() => parseSubnet('300.1.1.0/24'), UsageError);
});

test('network and broadcast are not host addresses', () => {
  const s = parseSubnet('10.9.8.0/30');
  assert.equal(hostAddress(s, 2), '10.9.8.2');
  assert.throws(() => hostAddress(s, 3), RangeError);
  assert.equal(isUsableHost(s, ipToInt('10.9.8.0')!), false);
  assert.equal(isUsableHost(s, ipToInt('10.9.8.3')!), false);
  assert.equal(isUsableHost(s, ipToInt('10.9.8.1')!), true);
  assert.equal(isUsableHost(s, ipToInt('10.9.9.1')!), false);
});

test('MACs are locally administered unicast, carry the run id and differ by role', () => {
  const g = macFor('a1b2c3', MAC_ROLE.guest);
  const p = macFor('a1b2c3', MAC_ROLE.peer);
  assert.equal(g, '02:a1:b2:c3:00:02');
  assert.equal(p, '02:a1:b2:c3:00:01');
  assert.ok(isLocallyAdministeredUnicast(g));
  assert.notEqual(macFor('a1b2c4', MAC_ROLE.guest), g);
  assert.throws(() => macFor('xyz', 1), RangeError);
});
