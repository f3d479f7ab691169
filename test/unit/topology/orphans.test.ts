import { test } from 'node:test';
import assert from 'node:assert/strict';
import { idOf, markerIds } from '../../../harness/core/orphans.ts';

test('run ids from our object names', () => {
  assert.equal(idOf('vnb-a1b2c3-g'), 'a1b2c3');
  assert.equal(idOf('vnba1b2c3br'), 'a1b2c3');
  assert.equal(idOf('vnb-a1b2c3-tap16777216'), 'a1b2c3');
  assert.equal(idOf('eth0'), undefined);
  assert.equal(idOf('myvnba1b2c3'), undefined, 'the prefix must start the name');
});

test('run markers in command lines (QEMU -name, testpmd --file-prefix)', () => {
  // argv of a real QEMU and testpmd as vnetbench starts them.
  assert.deepEqual(markerIds(['qemu-system-x86_64', '-name', 'vnb-a1b2c3-guest,debug-threads=on']), ['a1b2c3']);
  assert.deepEqual(markerIds(['dpdk-testpmd', '--file-prefix', 'vnb-0f0f0f-testpmd', '--vdev', 'net_vhost0,iface=/tmp/x/vnb-0f0f0f-vhost-user.sock']), ['0f0f0f']);
  assert.deepEqual(markerIds(['node', 'harness/cli/main.ts', 'run', '--out', '/tmp/vnetbench-results']), []);
  assert.deepEqual(markerIds(['ip', '-n', 'vnba1b2c3x', 'link']), [], 'link names are not markers');
});
