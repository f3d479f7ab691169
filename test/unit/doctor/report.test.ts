// The JSON document: every probe's {ok, evidence}, bigint features as hex, every backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS } from '../../../harness/config/schema.ts';
import { doctorDocument, doctorText } from '../../../harness/doctor/report.ts';
import type { HostCapabilities } from '../../../harness/doctor/capabilities.ts';
import { tunFlagNames, devNumbers } from '../../../harness/doctor/probes/tun.ts';

const e = (ok: boolean, evidence: string) => ({ ok, evidence });
const caps: HostCapabilities = {
  root: e(true, 'uid 0'),
  tun: e(true, 'tap made'),
  macvlan: e(true, 'm'),
  macvtap: e(true, 'mt'),
  netns: e(true, 'ns'),
  vhostNet: { ...e(true, 'vhost'), features: (1n << 32n) | (1n << 15n) },
  ioUring: e(true, 'u'),
  linuxAio: e(true, 'a'),
  kvm: e(false, 'KVM not usable'),
  tcg: e(true, 'marker'),
  qemu: { ...e(true, 'q'), version: '7.2.22', netdevs: ['tap', 'vhost-user'] },
  tools: { netperf: e(false, 'netperf not found'), netserver: e(false, 'x'), iperf3: { ...e(true, 'i'), version: '3.12' }, sockperf: e(true, 's'), testpmd: e(true, 't') },
  veth: e(true, 'v'),
  bridge: e(true, 'b'),
  afPacket: e(true, 'p'),
  nics: [{ name: 'eth0', driver: 'virtio_net', problems: [], l2FwdOffload: { on: false, fixed: true } }],
  host: { bootId: 'boot', kernel: '6.1' },
};

test('JSON document: round-trips through JSON.stringify, features as hex', () => {
  const doc = JSON.parse(JSON.stringify(doctorDocument(caps)));
  assert.equal(doc.probes['vhost-net'].features, '0x100008000');
  assert.equal(doc.probes.kvm.ok, false);
  assert.equal(doc.probes.iperf3.version, '3.12');
  assert.equal(doc.probes['dpdk-testpmd'].ok, true);
  for (const p of Object.values(doc.probes) as { ok: unknown; evidence: unknown }[]) {
    assert.equal(typeof p.ok, 'boolean');
    assert.equal(typeof p.evidence, 'string');
  }
  assert.deepEqual(doc.backends.map((b: { name: string }) => b.name), [...BACKENDS]);
  for (const b of doc.backends) assert.ok(typeof b.runnable === 'boolean' && typeof b.reason === 'string' && b.reason.length > 0);
  assert.equal(doc.nics[0].name, 'eth0');
});

test('text report: one line per probe with its evidence, NICs, then the backend table', () => {
  const text = doctorText(caps, 100);
  assert.match(text, /^ NO  kvm\s+KVM not usable$/m);
  assert.match(text, /^ ok  tun\s+tap made$/m);
  assert.match(text, /eth0: driver virtio_net/);
  assert.match(text, /l2-fwd-offload \(VMDq via macvlan\): off \[fixed\]/);
  for (const b of BACKENDS) assert.match(text, new RegExp(`│ ${b} `));
});

test('TUNGETFEATURES flags of this machine\'s /dev/net/tun (0x7173) decode to names', () => {
  assert.deepEqual(tunFlagNames(0x7173), ['TUN', 'TAP', 'NAPI', 'NAPI_FRAGS', 'NO_CARRIER', 'MULTI_QUEUE', 'NO_PI', 'ONE_QUEUE', 'VNET_HDR']);
  assert.deepEqual(tunFlagNames(0x10002), ['TAP', '0x10000']);
});

test('device numbers from st_rdev: /dev/net/tun is 10:200', () => {
  assert.equal(devNumbers((10 << 8) | 200), '10:200');
  assert.equal(devNumbers((246 << 8) | 1), '246:1');
});
