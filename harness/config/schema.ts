// The one typed schema for run configuration. A config file and command-line flags are both
// validated here; `.strict()` everywhere so an unknown key is an error, not a silent no-op.
import { z } from 'zod';

export const BACKENDS = [
  'copy', // tap + QEMU userspace virtio-net (vhost=off)
  'vhost', // tap + vhost-net
  'macvtap', // macvtap fd passed to QEMU, userspace virtio-net
  'macvtap-vhost', // macvtap + vhost-net
  'vhost-raw', // vhost-net over an AF_PACKET raw socket (the original backend)
  'aio-tap', // our vhost-user device doing batched async I/O to a tap
  'aio-macvtap', // the same against a macvtap
  'vhost-user', // DPDK testpmd as a vhost-user backend
] as const;
export type BackendName = (typeof BACKENDS)[number];

export const WORKLOADS = ['TCP_STREAM', 'TCP_MAERTS', 'TCP_RR', 'TCP_CRR', 'UDP_STREAM', 'UDP_RR'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

/** The largest UDP payload over IPv4 (65535 - 20 IP - 8 UDP): a datagram cannot carry more. */
export const UDP_MAX_SIZE = 65507;
/** TCP message sizes stop at 1 MiB: netperf and iperf3 take far larger, but sizes past this measure the same thing. */
export const TCP_MAX_SIZE = 1024 * 1024;
const isUdp = (w: string) => w.startsWith('UDP_');

export const ENGINES = ['netperf', 'iperf3', 'sockperf'] as const;
export type EngineName = (typeof ENGINES)[number];

const ifname = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,15}$/, 'must be a Linux interface name (1-15 of A-Z a-z 0-9 _ . : -)');

const positiveInt = z.number().int().positive();

export const TopologySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('embedded') }).strict(),
  z
    .object({
      kind: z.literal('nic'),
      /** The guest side: backends attach (tap bridge, macvtap lower device) to this NIC. */
      nic: ifname,
      /** A second port cabled back to back, moved into the peer namespace for the run. */
      peerNic: ifname.optional(),
      /** Or a remote host already running netserver/iperf3 -s: its address on the test link. */
      remotePeer: z.union([z.ipv4(), z.ipv6()]).optional(),
      /** Address prefix used on the test link, e.g. 198.18.0.0/24 (benchmarking range, RFC 2544). */
      subnet: z.string().regex(/^\d+\.\d+\.\d+\.\d+\/\d+$/, 'must be an IPv4 CIDR like 198.18.0.0/24').optional(),
    })
    .strict()
    .refine((t) => Boolean(t.peerNic) !== Boolean(t.remotePeer), {
      message: 'name exactly one of peerNic (a back-to-back port) or remotePeer (an address)',
    }),
]);

export const OffloadsSchema = z.enum(['on', 'off']);

export const RunConfigSchema = z
  .object({
    backends: z.array(z.enum(BACKENDS)).min(1).default(['copy', 'macvtap']),
    workloads: z.array(z.enum(WORKLOADS)).min(1).default([...WORKLOADS]),
    /** Message sizes in bytes (send size for streams, request/response size for RR); UDP's limit is checked below. */
    sizes: z.array(z.number().int().min(1).max(TCP_MAX_SIZE)).min(1).default([64, 1024, 16384]),
    /** Seconds per iteration. */
    duration: z.number().min(1).max(3600).default(10),
    iterations: positiveInt.max(1000).default(3),
    warmup: z.number().min(0).max(600).default(2),
    /** Iterate until the CI half-width is within ±width% at `level` (netperf -I level,width). */
    confidence: z
      .object({
        level: z.number().gt(0.5).lt(1).default(0.99),
        widthPct: z.number().positive().max(100).default(5),
        maxIterations: positiveInt.max(1000).default(10),
      })
      .strict()
      .optional(),
    engine: z.enum(ENGINES).default('netperf'),
    streams: positiveInt.max(64).default(1),
    queues: positiveInt.max(16).default(1),
    offloads: z.array(OffloadsSchema).min(1).default(['on']),
    macvtapMode: z.enum(['bridge', 'vepa', 'passthru']).default('bridge'),
    topology: TopologySchema.default({ kind: 'embedded' }),
    guest: z
      .object({
        kernel: z.string().min(1).optional(),
        initrd: z.string().min(1).optional(),
        modules: z.string().min(1).optional(),
        memMiB: positiveInt.min(128).max(65536).default(512),
        smp: positiveInt.max(64).default(1),
      })
      .strict()
      .default({ memMiB: 512, smp: 1 }),
    qemu: z
      .object({
        binary: z.string().min(1).default('qemu-system-x86_64'),
        accel: z.enum(['auto', 'kvm', 'tcg']).default('auto'),
      })
      .strict()
      .default({ binary: 'qemu-system-x86_64', accel: 'auto' }),
    aio: z
      .object({ engine: z.enum(['io_uring', 'linux-aio']).default('io_uring'), batch: positiveInt.max(1024).default(32) })
      .strict()
      .default({ engine: 'io_uring', batch: 32 }),
    out: z.string().min(1).optional(),
  })
  .strict()
  .superRefine(udpSizes, {
    // Reported beside other keys' problems, once sizes and workloads are each valid.
    when: (p) => {
      const v = p.value as { sizes?: unknown; workloads?: unknown } | undefined;
      return Array.isArray(v?.sizes) && Array.isArray(v?.workloads) && !p.issues.some((i) => i.path?.[0] === 'sizes' || i.path?.[0] === 'workloads');
    },
  });

/** sizes and workloads are separate keys: a size only UDP cannot carry is wrong only beside a UDP workload. */
function udpSizes(c: { sizes: number[]; workloads: WorkloadName[] }, ctx: z.RefinementCtx): void {
  const udp = c.workloads.filter(isUdp);
  if (!udp.length) return;
  c.sizes.forEach((size, i) => {
    if (size <= UDP_MAX_SIZE) return;
    ctx.addIssue({
      code: 'custom',
      path: ['sizes', i],
      message:
        `${size} bytes is too big for ${udp.join(' and ')}: a UDP datagram carries at most ${UDP_MAX_SIZE} bytes ` +
        `(TCP workloads take up to ${TCP_MAX_SIZE}); use sizes <= ${UDP_MAX_SIZE}, or leave ${udp.join(' and ')} out of workloads`,
    });
  });
}

export type RunConfig = z.output<typeof RunConfigSchema>;
export type RunConfigInput = z.input<typeof RunConfigSchema>;
export type Topology = z.output<typeof TopologySchema>;
