// AF_PACKET raw sockets: vhost-raw hands one to vhost-net, and testpmd's net_af_packet vdev uses
// them. socket(AF_PACKET, SOCK_RAW) needs CAP_NET_RAW.
import { packetSocket } from '../sys.ts';
import type { Evidence } from '../capabilities.ts';

export function probeAfPacket(): Evidence {
  const r = packetSocket();
  return r.ok
    ? { ok: true, evidence: 'socket(AF_PACKET, SOCK_RAW, 0) opened and closed' }
    : { ok: false, evidence: `socket(AF_PACKET, SOCK_RAW, 0) failed: ${r.errno} (${r.text})` };
}
