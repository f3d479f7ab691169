// The metric catalogue: every number a benchmark cell can carry, with its unit and which
// direction is better. Results store metrics as a flat `Record<MetricName, number>` so every
// exporter (CSV, JUnit, HTML, compare) works from one record shape.

export interface MetricInfo {
  unit: string;
  /** Which direction is an improvement; compare colours and gates by this. */
  better: 'higher' | 'lower';
  label: string;
  /** How it is computed, shown in reports and the README. */
  doc: string;
}

export const METRICS = {
  throughput_bps: { unit: 'bit/s', better: 'higher', label: 'Throughput', doc: 'payload bits per second reported by the workload engine' },
  packets_per_s: { unit: 'pkt/s', better: 'higher', label: 'Packets/s', doc: 'guest NIC packets per second (rx+tx) from /proc/net/dev deltas in the guest' },
  transactions_per_s: { unit: 'trans/s', better: 'higher', label: 'Transactions/s', doc: 'request/response transactions per second (RR, CRR)' },
  latency_mean_us: { unit: 'us', better: 'lower', label: 'Latency mean', doc: 'mean round-trip latency' },
  latency_p50_us: { unit: 'us', better: 'lower', label: 'Latency p50', doc: '50th percentile round-trip latency' },
  latency_p90_us: { unit: 'us', better: 'lower', label: 'Latency p90', doc: '90th percentile round-trip latency' },
  latency_p99_us: { unit: 'us', better: 'lower', label: 'Latency p99', doc: '99th percentile round-trip latency' },
  retransmits: { unit: 'count', better: 'lower', label: 'TCP retransmits', doc: 'TCP segments retransmitted during the iteration' },
  loss_pct: { unit: '%', better: 'lower', label: 'Loss', doc: 'datagrams sent but not received, percent' },
  host_cpu_total_pct: { unit: '% of one core', better: 'lower', label: 'Host CPU total', doc: 'all host CPU time during the iteration from /proc/stat, in percent of one core' },
  host_softirq_pct: { unit: '% of one core', better: 'lower', label: 'Host softirq', doc: 'host softirq time from /proc/stat' },
  qemu_process_pct: { unit: '% of one core', better: 'lower', label: 'QEMU process', doc: 'utime+stime of the QEMU process (all threads)' },
  cpu_vcpu_pct: { unit: '% of one core', better: 'lower', label: 'vCPU threads', doc: 'QEMU threads named "CPU n/KVM" or "CPU n/TCG"' },
  cpu_qemu_io_pct: { unit: '% of one core', better: 'lower', label: 'QEMU main/IO', doc: 'QEMU threads other than vCPUs (main loop, IO threads, call_rcu, workers)' },
  cpu_vhost_pct: { unit: '% of one core', better: 'lower', label: 'vhost workers', doc: 'kernel threads vhost-<qemu pid>' },
  cpu_backend_pct: { unit: '% of one core', better: 'lower', label: 'Backend processes', doc: 'processes the backend started (testpmd, aio-tap)' },
  cpu_peer_pct: { unit: '% of one core', better: 'lower', label: 'Peer workload', doc: 'the peer-side workload server/client process' },
  guest_cpu_pct: { unit: '% of guest CPUs', better: 'lower', label: 'Guest CPU', doc: 'guest busy time from guest /proc/stat, percent of one guest CPU' },
  harness_cpu_pct: { unit: '% of one core', better: 'lower', label: 'Harness CPU', doc: 'vnetbench itself during measurement' },
  service_demand_host_us_per_kb: { unit: 'us/KB', better: 'lower', label: 'Service demand (host)', doc: 'host CPU microseconds per KB (1024 bytes) transferred, netperf definition' },
  service_demand_guest_us_per_kb: { unit: 'us/KB', better: 'lower', label: 'Service demand (guest)', doc: 'guest CPU microseconds per KB transferred' },
  service_demand_host_us_per_trans: { unit: 'us/trans', better: 'lower', label: 'Service demand (host, RR)', doc: 'host CPU microseconds per transaction (RR, CRR), netperf definition' },
  service_demand_guest_us_per_trans: { unit: 'us/trans', better: 'lower', label: 'Service demand (guest, RR)', doc: 'guest CPU microseconds per transaction (RR, CRR)' },
  throughput_per_core_bps: { unit: 'bit/s per core', better: 'higher', label: 'Throughput per host core', doc: 'throughput divided by host CPU cores used (host_cpu_total_pct/100)' },
  guest_interrupts_per_packet: { unit: 'irq/pkt', better: 'lower', label: 'Guest interrupts/packet', doc: 'virtio interrupts in guest /proc/interrupts per packet' },
} as const satisfies Record<string, MetricInfo>;

export type MetricName = keyof typeof METRICS;
export type Metrics = Partial<Record<MetricName, number>>;

export function metricInfo(name: string): MetricInfo | undefined {
  return (METRICS as Record<string, MetricInfo>)[name];
}
