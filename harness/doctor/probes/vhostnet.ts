// vhost-net: /dev/vhost-net must exist and open; VHOST_GET_FEATURES then lists what the kernel's
// vhost-net offers (it answers without VHOST_SET_OWNER).
import fs from 'node:fs';
import { close, ioctlReadU64, openDevice } from '../sys.ts';
import { featureNames } from '../../virtio/features.ts';
import type { HostCapabilities } from '../capabilities.ts';

const VHOST_NET = '/dev/vhost-net';
export const VHOST_GET_FEATURES = 0x8008af00; // _IOR(VHOST_VIRTIO 0xAF, 0x00, __u64)

export function probeVhostNet(dev = VHOST_NET): HostCapabilities['vhostNet'] {
  if (!fs.existsSync(dev)) {
    const module = fs.existsSync('/sys/module/vhost_net') ? 'module vhost_net is loaded' : 'no /sys/module/vhost_net';
    return { ok: false, evidence: `${dev} absent (${module}): the kernel lacks CONFIG_VHOST_NET or vhost_net is not loaded` };
  }
  const fd = openDevice(dev);
  if (!fd.ok) return { ok: false, evidence: `open ${dev}: ${fd.errno} (${fd.text})` };
  const f = ioctlReadU64(fd.value, VHOST_GET_FEATURES);
  close(fd.value);
  if (!f.ok) return { ok: false, evidence: `${dev} opened but VHOST_GET_FEATURES failed: ${f.errno} (${f.text})` };
  return {
    ok: true,
    features: f.value,
    evidence: `${dev} opened, VHOST_GET_FEATURES 0x${f.value.toString(16)} (${featureNames(f.value).join(' ')})`,
  };
}
