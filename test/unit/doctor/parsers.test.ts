// doctor's parsers on command output captured on a project machine (fixtures/doctor/captured) and,
// where this machine cannot produce it, on output reconstructed from ethtool(8)'s documented
// format (fixtures/doctor/reconstructed, labelled in each file).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fixturesDir } from '../../../harness/core/paths.ts';
import {
  parseIperf3Version,
  parseNetperfVersion,
  parseQemuVersion,
  parseSockperfVersion,
  parseTestpmdVersion,
} from '../../../harness/doctor/parsers/versions.ts';
import { parseNetdevHelp } from '../../../harness/doctor/parsers/qemu.ts';
import { hasCap, parseCapEff } from '../../../harness/doctor/parsers/procstatus.ts';
import { parseChannels, parseDriverInfo, parseFeatures, parseLinkSettings } from '../../../harness/doctor/parsers/ethtool.ts';

const captured = (f: string) => fs.readFileSync(path.join(fixturesDir(), 'doctor', 'captured', f), 'utf8');
const reconstructed = (f: string) => {
  const text = fs.readFileSync(path.join(fixturesDir(), 'doctor', 'reconstructed', f), 'utf8');
  assert.match(text.split('\n')[0], /^# RECONSTRUCTED .*NOT captured/, `${f} must say it is reconstructed`);
  return text;
};

test('qemu --version (captured)', () => {
  assert.deepEqual(parseQemuVersion(captured('qemu-version.txt')), { version: '7.2.22', package: 'Debian 1:7.2+dfsg-7+deb12u18+b3' });
});

test('qemu -netdev help lists tap and vhost-user but not af-xdp (captured, QEMU 7.2)', () => {
  const netdevs = parseNetdevHelp(captured('qemu-netdev-help.txt'));
  assert.ok(netdevs);
  for (const n of ['tap', 'vhost-user', 'socket', 'stream', 'dgram', 'l2tpv3', 'bridge', 'vhost-vdpa']) assert.ok(netdevs.includes(n), n);
  assert.ok(!netdevs.includes('af-xdp'));
  assert.ok(!netdevs.some((n) => n.includes(' ')), 'one type per entry, no heading text');
});

test('netdev help parser rejects text without the heading', () => {
  assert.equal(parseNetdevHelp(captured('qemu-version.txt')), undefined);
});

test('tool versions (captured)', () => {
  assert.equal(parseNetperfVersion(captured('netperf-V.txt')), '2.7.0');
  assert.equal(parseNetperfVersion(captured('netserver-V.txt')), '2.7.0');
  assert.equal(parseIperf3Version(captured('iperf3-version.txt')), '3.12');
  assert.equal(parseSockperfVersion(captured('sockperf-version.txt')), '3.7');
  assert.equal(parseTestpmdVersion(captured('testpmd-v-h.txt')), '22.11.11');
});

test('a version parser does not accept another tool\'s output', () => {
  assert.equal(parseNetperfVersion(captured('iperf3-version.txt')), undefined);
  assert.equal(parseIperf3Version(captured('sockperf-version.txt')), undefined);
  assert.equal(parseSockperfVersion(captured('netperf-V.txt')), undefined);
  assert.equal(parseTestpmdVersion(captured('qemu-version.txt')), undefined);
  assert.equal(parseQemuVersion(captured('iperf3-version.txt')), undefined);
});

test('CapEff as root has NET_ADMIN and SYS_ADMIN; as nobody none (captured)', () => {
  const rootCaps = parseCapEff(captured('proc-self-status-caps.txt'));
  assert.equal(rootCaps, 0x1fffeffffffn);
  assert.ok(hasCap(rootCaps!, 'CAP_NET_ADMIN') && hasCap(rootCaps!, 'CAP_SYS_ADMIN'));
  const nobody = parseCapEff(captured('proc-self-status-caps-nobody.txt'));
  assert.equal(nobody, 0n);
  assert.ok(!hasCap(nobody!, 'CAP_NET_ADMIN'));
  assert.equal(parseCapEff('Name:\tnode\n'), undefined);
});

test('ethtool -i on the virtio NIC: driver, no firmware (captured)', () => {
  const i = parseDriverInfo(captured('ethtool-i-eth0.txt'));
  assert.equal(i.driver, 'virtio_net');
  assert.equal(i['firmware-version'], '');
  assert.equal(i['bus-info'], '0000:00:03.0');
});

test('ethtool on the virtio NIC: speed Unknown! gives no number (captured)', () => {
  const s = parseLinkSettings(captured('ethtool-eth0.txt'));
  assert.equal(s.speedMbps, undefined);
  assert.equal(s.duplex, undefined);
  assert.equal(s.linkDetected, true);
});

test('ethtool -l on the virtio NIC: 1 combined channel, n/a elsewhere (captured)', () => {
  assert.deepEqual(parseChannels(captured('ethtool-l-eth0.txt')), { max: { combined: 1 }, current: { combined: 1 } });
});

test('ethtool -k on the virtio NIC: offloads and a fixed l2-fwd-offload (captured)', () => {
  const f = parseFeatures(captured('ethtool-k-eth0.txt'));
  assert.deepEqual(f['l2-fwd-offload'], { on: false, fixed: true });
  assert.deepEqual(f['tcp-segmentation-offload'], { on: true, fixed: false });
  assert.deepEqual(f['rx-checksumming'], { on: true, fixed: true });
  assert.deepEqual(f['tx-checksum-ipv4'], { on: false, fixed: true }, 'indented sub-features are read too');
  assert.ok(!('Features for eth0' in f));
  const lines = captured('ethtool-k-eth0.txt').split('\n').filter((l) => /:\s+(on|off)/.test(l));
  assert.equal(Object.keys(f).length, lines.length, 'every feature line is parsed');
});

test('ethtool -i of an ixgbe port: firmware version (RECONSTRUCTED fixture)', () => {
  const i = parseDriverInfo(reconstructed('ethtool-i-ixgbe.txt'));
  assert.equal(i.driver, 'ixgbe');
  assert.equal(i['firmware-version'], '0x800007f4, 1.3089.0');
});

test('ethtool of a 10G port with link: speed and duplex (RECONSTRUCTED fixture)', () => {
  assert.deepEqual(parseLinkSettings(reconstructed('ethtool-ixgbe.txt')), {
    speedMbps: 10000,
    duplex: 'Full',
    linkDetected: true,
    port: 'Twisted Pair',
  });
});

test('ethtool -l with 63 combined queues, 2 in use (RECONSTRUCTED fixture)', () => {
  assert.deepEqual(parseChannels(reconstructed('ethtool-l-ixgbe.txt')), {
    max: { other: 1, combined: 63 },
    current: { other: 1, combined: 2 },
  });
});

test('ethtool -k with a changeable l2-fwd-offload and [requested on] (RECONSTRUCTED fixture)', () => {
  const f = parseFeatures(reconstructed('ethtool-k-ixgbe.txt'));
  assert.deepEqual(f['l2-fwd-offload'], { on: false, fixed: false });
  assert.deepEqual(f['tx-checksumming'], { on: false, fixed: false });
});

test('ethtool -l without its blocks is not a channel report', () => {
  assert.equal(parseChannels(captured('ethtool-i-eth0.txt')), undefined);
});
