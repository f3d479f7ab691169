import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNetDev, virtioNetInterrupts } from '../../../harness/metrics/guestcounters.ts';
import { readFixture } from './fixtures.ts';

const count = (text: string, name: string) =>
  text
    .split('\n')
    .filter((l) => l.trim().endsWith(name))
    .reduce((a, l) => a + Number(l.trim().split(/\s+/)[1]), 0);

test('MSI-X: the NIC queue vectors count, the agent (virtio-serial) and config vectors do not', () => {
  const text = readFixture('guest-interrupts.close.txt');
  assert.match(text, /virtio0-virtqueues/, 'the capture has the agent virtio-serial device');
  const expected = count(text, 'virtio1-input.0') + count(text, 'virtio1-output.0');
  assert.ok(expected > 0);
  assert.equal(virtioNetInterrupts(text), expected);
  assert.equal(virtioNetInterrupts(text, 'virtio1'), expected);
  assert.equal(virtioNetInterrupts(text, 'virtio0'), undefined, 'virtio-serial has no input/output queue vectors');
});

test('INTx (vectors=0): the device line counts only when the device is named', () => {
  const text = readFixture('intx-guest-interrupts.close.txt');
  assert.equal(virtioNetInterrupts(text), undefined, 'a bare "virtio1" may be any device');
  assert.equal(virtioNetInterrupts(text, 'virtio1'), count(text, 'virtio1'));
  assert.ok(virtioNetInterrupts(text, 'virtio1')! > 0);
});

test('several CPUs are summed (this host is itself a virtio guest: real 2-CPU text)', () => {
  // Lines from the build machine's own /proc/interrupts (virtio2 is its NIC), kept verbatim.
  const text = [
    '           CPU0       CPU1       ',
    ' 37:          0          0 PCI-MSIX-0000:00:03.0   0-edge      virtio2-config',
    ' 38:          0       4627 PCI-MSIX-0000:00:03.0   1-edge      virtio2-input.0',
    ' 39:       3281          0 PCI-MSIX-0000:00:03.0   2-edge      virtio2-output.0',
    ' 34:         33          0 PCI-MSIX-0000:00:05.0   1-edge      virtio4-input',
  ].join('\n');
  assert.equal(virtioNetInterrupts(text), 4627 + 3281);
  assert.equal(virtioNetInterrupts(text, 'virtio2'), 4627 + 3281);
});

test('no header is an error', () => {
  assert.throws(() => virtioNetInterrupts('  1: 2 3 virtio0-input.0'), /no "CPU0 \.\.\." header/);
});

test('/proc/net/dev: packets and bytes per interface from the real guest text', () => {
  const text = readFixture('guest-net-dev.close.txt');
  const dev = parseNetDev(text);
  assert.ok(dev.has('lo') && dev.has('eth0'));
  const line = text.split('\n').find((l) => l.trim().startsWith('eth0:'))!;
  const f = line.split(':')[1].trim().split(/\s+/).map(Number);
  assert.deepEqual(dev.get('eth0'), { rxBytes: f[0], rxPackets: f[1], txBytes: f[8], txPackets: f[9] });
  assert.ok(dev.get('eth0')!.txBytes > dev.get('eth0')!.rxBytes, 'TCP_STREAM from the guest sends more than it receives');
});
