// Guest counters fetched as text by the agent: /proc/interrupts (virtio-net vectors) and
// /proc/net/dev (packets on the NIC under test). Pure.

/**
 * Interrupts delivered for a virtio-net device, summed over CPUs. With MSI-X each queue has its own
 * vector named "virtioN-input.Q" / "virtioN-output.Q"; with INTx (vectors=0) the line names the
 * device ("virtioN", possibly shared: "virtio0, virtio1"). Without `dev` only MSI-X queue vectors
 * count, since a bare "virtioN" may be another device (the agent's virtio-serial).
 * Returns undefined when no line matches (no virtio-net interrupts to observe).
 */
export function virtioNetInterrupts(text: string, dev?: string): number | undefined {
  const lines = text.split('\n');
  const header = lines.find((l) => /^\s*CPU\d+/.test(l));
  if (!header) throw new Error(`/proc/interrupts: no "CPU0 ..." header in: ${JSON.stringify(text.slice(0, 200))}`);
  const ncpu = header.trim().split(/\s+/).length;
  const esc = dev?.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = esc
    ? new RegExp(`(^|[\\s,])${esc}(-(input|output)\\.\\d+)?(?=$|[\\s,])`)
    : /(^|[\s,])virtio\d+-(input|output)\.\d+(?=$|[\s,])/;
  let sum = 0;
  let found = false;
  for (const line of lines) {
    const m = /^\s*(\d+):\s+(.*)$/.exec(line);
    if (!m) continue;
    const parts = m[2].trim().split(/\s+/);
    const counts = parts.slice(0, ncpu).map(Number);
    const desc = parts.slice(ncpu).join(' ');
    if (!match.test(desc) || counts.some((c) => !Number.isFinite(c))) continue;
    found = true;
    sum += counts.reduce((a, c) => a + c, 0);
  }
  return found ? sum : undefined;
}

export interface NetDevCounters {
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
}

/** /proc/net/dev rows by interface name. */
export function parseNetDev(text: string): Map<string, NetDevCounters> {
  const out = new Map<string, NetDevCounters>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.includes('|')) continue;
    const name = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (!name || f.length < 16 || f.some((x) => !Number.isFinite(x))) continue;
    out.set(name, { rxBytes: f[0], rxPackets: f[1], txBytes: f[8], txPackets: f[9] });
  }
  return out;
}
