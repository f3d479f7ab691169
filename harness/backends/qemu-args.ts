// QEMU -netdev/-device arguments, built in one place so every backend spells them the same way.
// Pure functions; unit tests pin the exact strings. Options are QEMU 7.2's (see `-netdev help`).
export const NETDEV_ID = 'n0';
export const CHARDEV_ID = 'c0';

/**
 * MSI-X vectors for virtio-net-pci. One queue pair: QEMU's default. N pairs: 2N+2 (one per
 * virtqueue, one for the control queue, one for config changes), as virtio-net multiqueue needs.
 * vhost-user under TCG: 0, because QEMU 7.2 segfaults in msix_set_vector_notifiers <-
 * vhost_net_start when a vhost-user device uses MSI-X without KVM (platform.md).
 */
export function vectorsFor(queues: number, opts: { vhostUser?: boolean; accel?: 'kvm' | 'tcg' } = {}): number | undefined {
  if (opts.vhostUser && opts.accel !== 'kvm') return 0;
  return queues > 1 ? 2 * queues + 2 : undefined;
}

export function virtioNetDevice(o: { mac: string; queues: number; vectors?: number }): string[] {
  const props = [`virtio-net-pci`, `netdev=${NETDEV_ID}`, `mac=${o.mac}`];
  if (o.queues > 1) props.push('mq=on');
  if (o.vectors !== undefined) props.push(`vectors=${o.vectors}`);
  return ['-device', props.join(',')];
}

export type TapSource =
  /** QEMU opens the tap by name (it runs in the tap's namespace); queues > 1 needs a multi_queue tap. */
  | { kind: 'ifname'; ifname: string; queues: number }
  /** Already-open fds, one per queue pair: macvtap nodes (or taps) opened by the harness. */
  | { kind: 'fds'; fds: number[] };

export interface VhostChoice {
  on: boolean;
  /** /dev/vhost-net fds in the child, one per queue pair; empty: QEMU opens /dev/vhost-net itself. */
  fds?: number[];
}

const join = (fds: number[]) => fds.join(':');

export function tapNetdev(src: TapSource, vhost: VhostChoice): string[] {
  const opts = ['tap', `id=${NETDEV_ID}`];
  if (src.kind === 'ifname') {
    opts.push(`ifname=${src.ifname}`, 'script=no', 'downscript=no');
    if (src.queues > 1) opts.push(`queues=${src.queues}`);
  } else if (src.fds.length === 1) {
    opts.push(`fd=${src.fds[0]}`);
  } else {
    opts.push(`fds=${join(src.fds)}`);
  }
  opts.push(`vhost=${vhost.on ? 'on' : 'off'}`);
  const vfds = vhost.on ? (vhost.fds ?? []) : [];
  if (vfds.length > 0) {
    const queues = src.kind === 'ifname' ? src.queues : src.fds.length;
    if (vfds.length !== queues) throw new RangeError(`${vfds.length} vhost fds for ${queues} queue pair(s)`);
    // QEMU 7.2: with ifname= only a single vhostfd= is accepted (used for every queue), and
    // vhostfds= requires fds=; so with ifname= and several queues QEMU must open them itself.
    if (src.kind === 'ifname' && queues > 1) throw new RangeError('vhostfd with ifname= supports one queue pair only');
    opts.push(vfds.length === 1 ? `vhostfd=${vfds[0]}` : `vhostfds=${join(vfds)}`);
  }
  return ['-netdev', opts.join(',')];
}

export function vhostUserNetdev(o: { socket: string; queues: number }): string[] {
  if (o.socket.includes(',')) throw new RangeError(`socket path ${o.socket} contains a comma (QEMU option separator)`);
  return [
    '-chardev',
    `socket,id=${CHARDEV_ID},path=${o.socket}`,
    '-netdev',
    `vhost-user,id=${NETDEV_ID},chardev=${CHARDEV_ID}${o.queues > 1 ? `,queues=${o.queues}` : ''}`,
  ];
}
