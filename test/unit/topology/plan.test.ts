import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planTopology, type PlanStep } from '../../../harness/topology/plan.ts';
import { UsageError } from '../../../harness/core/errors.ts';
import { RunConfigSchema } from '../../../harness/config/schema.ts';
import { hostFacts, vethPortFacts } from './fixtures.ts';

const ID = 'a1b2c3';
const nic = (t: object) => RunConfigSchema.parse({ topology: { kind: 'nic', ...t } }).topology;

/** Every command that creates something must carry its ledger record (written before it runs). */
function creates(s: PlanStep): boolean {
  const a = s.argv.join(' ');
  return / (netns add|link add|tuntap add) /.test(a) || /link set dev \S+ netns /.test(a);
}

test('embedded plan: two namespaces joined by a veth, peer .1/24, guest .2', () => {
  const { layout, steps } = planTopology({ kind: 'embedded' }, ID);
  assert.deepEqual(
    { ...layout },
    {
      kind: 'embedded',
      peerMode: 'veth',
      id: ID,
      guestNs: 'vnb-a1b2c3-g',
      wire: 'vnba1b2c3w',
      peerNs: 'vnb-a1b2c3-p',
      peerIf: 'vnba1b2c3p',
      peerIp: '198.18.0.1',
      guestIp: '198.18.0.2',
      prefixLen: 24,
      subnet: '198.18.0.0/24',
      guestMac: '02:a1:b2:c3:00:02',
    },
  );
  const veth = steps.find((s) => s.argv.includes('veth'))!;
  // Both ends are born inside their namespaces, never in the host's.
  assert.deepEqual(veth.argv.slice(0, 5), ['ip', 'link', 'add', 'vnba1b2c3w', 'netns']);
  assert.equal(veth.argv[veth.argv.indexOf('peer') + 4], 'vnb-a1b2c3-p');
  assert.deepEqual(veth.record?.map((r) => r.kind), ['link', 'link']);
  assert.ok(steps.some((s) => s.argv.join(' ') === 'ip -n vnb-a1b2c3-p addr add 198.18.0.1/24 dev vnba1b2c3p'));
});

test('embedded plan: every creating step is recorded, namespaces come first, only our names appear', () => {
  const { steps } = planTopology({ kind: 'embedded' }, ID);
  for (const s of steps.filter(creates)) assert.ok(s.record?.length, `unrecorded: ${s.what}`);
  assert.equal(steps[0]!.argv.join(' '), 'ip netns add vnb-a1b2c3-g');
  for (const s of steps) {
    for (const word of s.argv) {
      if (/^(eth|en|wl|ifb)\w*\d/.test(word)) assert.fail(`step "${s.what}" names a host interface: ${word}`);
    }
    const names = s.argv.filter((w) => /^vnb/.test(w));
    for (const n of names) assert.ok(n.includes(ID), `${n} lacks the run id`);
  }
});

test('real-NIC plan with a back-to-back port: the port is recorded as moved (with its state) before it moves', () => {
  const { layout, steps } = planTopology(nic({ nic: 'ifb0', peerNic: 'ifb1' }), ID, hostFacts());
  assert.equal(layout.kind, 'nic');
  assert.equal(layout.peerMode, 'nic');
  assert.equal(layout.guestNs, undefined, 'QEMU and backend objects stay in the host namespace');
  assert.equal(layout.wire, 'ifb0');
  assert.equal(layout.peerIf, 'ifb1');
  const move = steps.find((s) => s.argv.includes('netns') && s.argv.includes('ifb1') && s.argv[1] === 'link')!;
  assert.deepEqual(move.argv, ['ip', 'link', 'set', 'dev', 'ifb1', 'netns', 'vnb-a1b2c3-p']);
  assert.deepEqual(move.record, [{ kind: 'moved-link', name: 'ifb1', netns: 'vnb-a1b2c3-p', restore: { up: false, mtu: 1500 } }]);
  // ifb0 is down in the capture: the plan brings it up and records that it must go down again.
  assert.deepEqual(steps[0], {
    what: 'ifb0 up (set down again at teardown)',
    record: [{ kind: 'link-settings', name: 'ifb0', restore: { up: false } }],
    argv: ['ip', 'link', 'set', 'dev', 'ifb0', 'up'],
  });
  // Nothing else of the host's is touched: only ifb0 and ifb1 appear, and nothing is deleted.
  for (const s of steps) {
    assert.ok(!s.argv.includes('del'), s.what);
    assert.ok(!s.argv.includes('eth0'), s.what);
  }
});

test('real-NIC plan: an up port keeps its state and needs no link-settings record', () => {
  const facts = vethPortFacts();
  facts.links.push({ ...facts.links.find((l) => l.ifname === 'vnbf1f1f1x0')!, ifname: 'p2', master: undefined, flags: ['BROADCAST'], mtu: 1400 });
  const { steps } = planTopology(nic({ nic: 'vnbf1f1f1x0', peerNic: 'p2' }), ID, facts);
  assert.ok(!steps.some((s) => s.record?.some((r) => r.kind === 'link-settings')));
  const move = steps.find((s) => s.record?.[0]?.kind === 'moved-link')!;
  assert.deepEqual(move.record![0], { kind: 'moved-link', name: 'p2', netns: 'vnb-a1b2c3-p', restore: { up: false, mtu: 1400 } });
});

test('real-NIC plan refuses to move a port that carries the host\'s addresses', () => {
  assert.throws(
    () => planTopology(nic({ nic: 'ifb0', peerNic: 'eth0' }), ID, hostFacts()),
    (e: unknown) => e instanceof UsageError && /topology\.peerNic: "eth0" carries 192\.0\.2\.2\/\d+/.test(e.message),
  );
});

test('real-NIC plan: unknown, loopback, duplicate and enslaved ports are usage errors', () => {
  assert.throws(
    () => planTopology(nic({ nic: 'eth9', peerNic: 'ifb1' }), ID, hostFacts()),
    (e: unknown) => e instanceof UsageError && /topology\.nic: no interface "eth9"/.test(e.message) && /ifb0/.test(e.hint ?? ''),
  );
  assert.throws(() => planTopology(nic({ nic: 'lo', peerNic: 'ifb1' }), ID, hostFacts()), /loopback/);
  assert.throws(() => planTopology(nic({ nic: 'ifb0', peerNic: 'ifb0' }), ID, hostFacts()), /also topology\.nic/);
  assert.throws(
    () => planTopology(nic({ nic: 'vnbf1f1f1x1', remotePeer: '198.18.0.1' }), ID, vethPortFacts()),
    (e: unknown) => e instanceof UsageError && /enslaved to vnbf1f1f1br/.test(e.message) && /nomaster/.test(e.hint ?? ''),
  );
});

test('remote peer: addresses come from the subnet; the guest avoids the peer\'s address', () => {
  const a = planTopology(nic({ nic: 'ifb0', remotePeer: '10.1.2.2', subnet: '10.1.2.0/24' }), ID, hostFacts());
  assert.equal(a.layout.peerMode, 'remote');
  assert.equal(a.layout.peerNs, undefined);
  assert.equal(a.layout.peerIp, '10.1.2.2');
  assert.equal(a.layout.guestIp, '10.1.2.3');
  assert.equal(a.layout.prefixLen, 24);
  // Only bringing ifb0 up: nothing is created for a remote peer.
  assert.deepEqual(a.steps.map((s) => s.argv.join(' ')), ['ip link set dev ifb0 up']);
  assert.throws(
    () => planTopology(nic({ nic: 'ifb0', remotePeer: '10.1.3.2', subnet: '10.1.2.0/24' }), ID, hostFacts()),
    (e: unknown) => e instanceof UsageError && /not a host address in 10\.1\.2\.0\/24/.test(e.message),
  );
  assert.throws(
    () => planTopology(nic({ nic: 'ifb0', remotePeer: 'fd00::9' }), ID, hostFacts()),
    (e: unknown) => e instanceof UsageError && /fd00::9 is not an IPv4 address/.test(e.message) && /IPv4 only/.test(e.hint ?? ''),
  );
});
