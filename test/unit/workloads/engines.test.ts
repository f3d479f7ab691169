import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WORKLOADS } from '../../../harness/config/schema.ts';
import { NETSERVER_BASE_PORT, NETPERF_SELECTORS } from '../../../harness/workloads/netperf.ts';
import { engineFor, supportMatrix } from '../../../harness/workloads/registry.ts';
import { directionOf, directionsOf, primaryMetric, type ToolResolver, type WorkloadSpec } from '../../../harness/workloads/types.ts';
import { serverAddress, windowMarginS } from '../../../harness/workloads/runner.ts';

// Paths that show which side a binary was resolved for.
const tools: ToolResolver = (tool, side) => `/${side}/${tool}`;
const spec = (over: Partial<WorkloadSpec>): WorkloadSpec => ({ workload: 'TCP_STREAM', size: 1024, durationS: 10, streams: 1, serverIp: '198.18.0.2', ...over });
const after = (argv: string[], flag: string) => argv[argv.indexOf(flag) + 1];

test('netperf: one client and one foreground netserver per stream, on consecutive ports', () => {
  const e = engineFor('netperf', tools);
  const s = spec({ streams: 3 });
  const servers = e.servers('198.18.0.2', s);
  const clients = e.clients(s);
  assert.equal(servers.length, 3);
  assert.equal(clients.length, 3);
  servers.forEach((srv, i) => {
    assert.deepEqual(srv.argv, ['/peer/netserver', '-D', '-f', '-L', '198.18.0.2', '-p', String(NETSERVER_BASE_PORT + i)]);
    assert.equal(after(clients[i].argv, '-p'), String(NETSERVER_BASE_PORT + i));
    assert.equal(clients[i].argv[0], '/guest/netperf');
  });
});

test('netperf: size goes to the sender (-m, -m ,N for MAERTS) or both RR messages (-r N,N)', () => {
  const e = engineFor('netperf', tools);
  const argv = (w: WorkloadSpec['workload']) => e.clients(spec({ workload: w, size: 777 }))[0].argv;
  assert.equal(after(argv('TCP_STREAM'), '-m'), '777');
  assert.equal(after(argv('TCP_MAERTS'), '-m'), ',777');
  assert.equal(after(argv('UDP_STREAM'), '-m'), '777');
  for (const w of ['TCP_RR', 'TCP_CRR', 'UDP_RR'] as const) {
    assert.equal(after(argv(w), '-r'), '777,777');
    assert.ok(argv(w).indexOf('-j') < argv(w).indexOf('--'), '-j is a global option, before --');
  }
  assert.ok(!argv('TCP_STREAM').includes('-j'));
  for (const w of WORKLOADS) {
    const a = argv(w);
    assert.equal(after(a, '-t'), w, 'netperf test names are ours');
    assert.equal(after(a, '-k'), NETPERF_SELECTORS);
    assert.equal(after(a, '-H'), '198.18.0.2');
  }
});

test('netperf: UDP_STREAM peer -> guest runs netperf on the peer against a netserver in the guest', () => {
  const e = engineFor('netperf', tools);
  const base = { workload: 'UDP_STREAM' as const, direction: 'peer-to-guest' as const };
  assert.equal(e.clientSide(base), 'peer');
  const s = spec({ ...base, serverIp: serverAddress(e, base, { guestIp: '198.18.0.1', peerIp: '198.18.0.2' }) });
  assert.equal(s.serverIp, '198.18.0.1');
  assert.equal(e.clients(s)[0].argv[0], '/peer/netperf');
  assert.equal(e.servers(s.serverIp, s)[0].argv[0], '/guest/netserver');
  assert.equal(e.clientSide({ workload: 'UDP_STREAM' }), 'guest', 'default direction is guest -> peer');
  assert.equal(e.clientSide({ workload: 'TCP_MAERTS' }), 'guest', 'MAERTS reverses itself');
});

test('netperf: durations are whole seconds (at least 1)', () => {
  const e = engineFor('netperf', tools);
  assert.equal(after(e.clients(spec({ durationS: 2.4 }))[0].argv, '-l'), '2');
  assert.equal(after(e.clients(spec({ durationS: 0.2 }))[0].argv, '-l'), '1');
});

test('iperf3: one client with -P, -R for peer -> guest, -u -b 0 for UDP; client always in the guest', () => {
  const e = engineFor('iperf3', tools);
  const c = (o: Partial<WorkloadSpec>) => e.clients(spec(o));
  assert.equal(c({ streams: 4 }).length, 1);
  assert.equal(after(c({ streams: 4 })[0].argv, '-P'), '4');
  assert.ok(!c({}).at(0)!.argv.includes('-P'));
  assert.ok(c({ workload: 'TCP_MAERTS' })[0].argv.includes('-R'));
  assert.ok(!c({ workload: 'TCP_STREAM' })[0].argv.includes('-R'));
  const udpRx = c({ workload: 'UDP_STREAM', direction: 'peer-to-guest' })[0].argv;
  assert.ok(udpRx.includes('-R') && udpRx.includes('-u') && after(udpRx, '-b') === '0');
  assert.ok(c({})[0].argv.includes('--json'));
  for (const w of WORKLOADS) for (const d of directionsOf(w)) assert.equal(e.clientSide({ workload: w, direction: d }), 'guest');
  assert.deepEqual(e.servers('198.18.0.2', spec({}))[0].argv, ['/peer/iperf3', '-s', '-B', '198.18.0.2', '-p', '5201']);
});

test('sockperf: ping-pong with --full-rtt for RR, throughput for streams, client on the peer for peer -> guest', () => {
  const e = engineFor('sockperf', tools);
  const rr = e.clients(spec({ workload: 'UDP_RR', size: 64 }))[0].argv;
  assert.deepEqual(rr.slice(0, 3), ['/guest/sockperf', 'ping-pong', '--full-rtt']);
  assert.ok(!rr.includes('--tcp'));
  assert.ok(e.clients(spec({ workload: 'TCP_RR', size: 64 }))[0].argv.includes('--tcp'));
  assert.equal(e.clients(spec({ workload: 'TCP_STREAM' }))[0].argv[1], 'throughput');
  assert.equal(e.clientSide({ workload: 'TCP_MAERTS' }), 'peer');
  assert.equal(e.clientSide({ workload: 'UDP_STREAM', direction: 'peer-to-guest' }), 'peer');
  assert.equal(e.clientSide({ workload: 'TCP_STREAM' }), 'guest');
  assert.equal(e.clients(spec({ workload: 'TCP_MAERTS', serverIp: '198.18.0.1' }))[0].argv[0], '/peer/sockperf');
  const srv = e.servers('198.18.0.1', spec({ workload: 'TCP_MAERTS' }))[0];
  assert.equal(srv.argv[0], '/guest/sockperf');
  assert.equal(srv.proto, 'tcp');
  assert.equal(e.servers('198.18.0.2', spec({ workload: 'UDP_RR' }))[0].proto, 'udp');
  assert.equal(e.clients(spec({ workload: 'UDP_RR', streams: 3 })).length, 3);
});

test('unsupported combinations say why; everything else is supported', () => {
  const rows = supportMatrix(tools, WORKLOADS, 1024);
  const unsupported = rows.filter((r) => r.unsupported).map((r) => `${r.engine}/${r.workload}`).sort();
  assert.deepEqual(unsupported, ['iperf3/TCP_CRR', 'iperf3/TCP_RR', 'iperf3/UDP_RR', 'sockperf/TCP_CRR']);
  for (const r of rows.filter((x) => x.unsupported)) assert.match(r.unsupported!, /cannot run|no request\/response|no connect/);
  assert.equal(rows.filter((r) => r.engine === 'netperf' && !r.unsupported).length, 7, 'six workloads, UDP_STREAM both ways');
});

test('size limits: UDP payload for every engine, sockperf header minimum', () => {
  for (const name of ['netperf', 'iperf3', 'sockperf'] as const) {
    assert.match(engineFor(name, tools).unsupported({ workload: 'UDP_STREAM', size: 65508 }) ?? '', /65507/);
    assert.equal(engineFor(name, tools).unsupported({ workload: 'UDP_STREAM', size: 65507 }), undefined);
  }
  assert.match(engineFor('sockperf', tools).unsupported({ workload: 'TCP_RR', size: 13 }) ?? '', /at least 14 bytes/);
  assert.equal(engineFor('netperf', tools).unsupported({ workload: 'TCP_RR', size: 1 }), undefined);
});

test('directions and primary metrics', () => {
  assert.equal(directionOf({ workload: 'TCP_STREAM' }), 'guest-to-peer');
  assert.equal(directionOf({ workload: 'TCP_MAERTS' }), 'peer-to-guest');
  assert.equal(directionOf({ workload: 'UDP_STREAM', direction: 'peer-to-guest' }), 'peer-to-guest');
  assert.equal(directionOf({ workload: 'TCP_RR', direction: 'peer-to-guest' }), 'both', 'direction is ignored where the name fixes it');
  assert.deepEqual(directionsOf('UDP_STREAM'), ['guest-to-peer', 'peer-to-guest']);
  assert.equal(primaryMetric('TCP_CRR'), 'transactions_per_s');
  assert.equal(primaryMetric('UDP_STREAM'), 'throughput_bps');
});

test('startup before the timed run: sockperf sleeps ~2 s before "Starting test"; the others start at once', () => {
  assert.equal(engineFor('sockperf', tools).startupS, 2);
  assert.equal(engineFor('netperf', tools).startupS, 0);
  assert.equal(engineFor('iperf3', tools).startupS, 0);
});

test('measurement window margin: 15 % of the run, between 0.25 s and 2 s', () => {
  assert.equal(windowMarginS(1), 0.25);
  assert.equal(windowMarginS(10), 1.5);
  assert.equal(windowMarginS(60), 2);
});
