// /dev/vhost-net fds opened by the harness, one per queue pair, passed to QEMU as vhostfd(s)=.
// Opening them here turns a missing module or a permission problem into our error message
// instead of a QEMU start-up failure.
import fs from 'node:fs';
import { CapabilityError } from '../core/errors.ts';
import { VHOST_NET_FIX } from './requirements.ts';

export const VHOST_NET = '/dev/vhost-net';

export function openVhostNet(count: number): number[] {
  const fds: number[] = [];
  try {
    for (let i = 0; i < count; i++) fds.push(fs.openSync(VHOST_NET, fs.constants.O_RDWR));
  } catch (e) {
    for (const fd of fds) fs.closeSync(fd);
    const code = (e as NodeJS.ErrnoException).code;
    throw new CapabilityError(`${VHOST_NET} ${code === 'ENOENT' ? 'missing' : `cannot be opened (${code})`}`, VHOST_NET_FIX);
  }
  return fds;
}
