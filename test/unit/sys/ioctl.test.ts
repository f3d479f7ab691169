// ioctl numbers computed from the asm-generic encoding match the values compiled from the kernel
// headers on this machine (<linux/vhost.h>, <linux/if_tun.h>).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VHOST } from '../../../harness/vhost/vhost-kernel.ts';
import { TUNSETIFF, TUNSETVNETHDRSZ, TUNSETOFFLOAD } from '../../../harness/sys/tun.ts';

test('vhost and tun ioctl numbers', () => {
  const expected: Record<string, number> = {
    GET_FEATURES: 0x8008af00,
    SET_FEATURES: 0x4008af00,
    SET_OWNER: 0xaf01,
    RESET_OWNER: 0xaf02,
    SET_MEM_TABLE: 0x4008af03,
    SET_VRING_NUM: 0x4008af10,
    SET_VRING_ADDR: 0x4028af11,
    SET_VRING_BASE: 0x4008af12,
    GET_VRING_BASE: 0xc008af12,
    SET_VRING_KICK: 0x4008af20,
    SET_VRING_CALL: 0x4008af21,
    SET_VRING_ERR: 0x4008af22,
    NET_SET_BACKEND: 0x4008af30,
  };
  for (const [k, v] of Object.entries(expected)) {
    assert.equal(VHOST[k as keyof typeof VHOST], v, `VHOST_${k} = 0x${v.toString(16)}`);
  }
  assert.equal(TUNSETIFF, 0x400454ca);
  assert.equal(TUNSETVNETHDRSZ, 0x400454d8);
  assert.equal(TUNSETOFFLOAD, 0x400454d0);
});
