// What `vnetbench conform` accepts, and the precise UsageError for what it does not (exit 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../../../harness/core/errors.ts';
import { parseConformDut } from '../../../harness/conform/dut.ts';
import { parseFeatureList, planConform } from '../../../harness/conform/command.ts';
import { CHECKS, selectChecks } from '../../../suites/conformance/index.ts';
import { F, bit } from '../../../harness/virtio/features.ts';

const usage = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: Error) => e instanceof UsageError && re.test(`${e.message} ${(e as UsageError).hint ?? ''}`));

test('--dut forms', () => {
  assert.deepEqual(parseConformDut('testpmd'), { kind: 'testpmd' });
  assert.deepEqual(parseConformDut('reference'), { kind: 'reference' });
  assert.deepEqual(parseConformDut('reference:wraps-used-idx'), { kind: 'reference', fault: { fault: 'wraps-used-idx', mode: { kind: 'always' } } });
  assert.deepEqual(parseConformDut('reference:no-notify@first'), { kind: 'reference', fault: { fault: 'no-notify', mode: { kind: 'first' } } });
  assert.deepEqual(parseConformDut('reference:beyond-avail@after:5'), { kind: 'reference', fault: { fault: 'beyond-avail', mode: { kind: 'after', n: 5 } } });
  usage(() => parseConformDut('reference:beyond-avail@sometimes'), /reference:beyond-avail@sometimes.*accepted/);
  assert.deepEqual(parseConformDut('vhost-net-tap'), { kind: 'vhost-net', backend: 'tap' });
  assert.deepEqual(parseConformDut('vhost-net-raw'), { kind: 'vhost-net', backend: 'raw' });
  assert.deepEqual(parseConformDut('vhost-user:/run/a:b.sock'), { kind: 'vhost-user', path: '/run/a:b.sock' });
  usage(() => parseConformDut('qemu'), /unknown device "qemu".*accepted forms: testpmd/);
  usage(() => parseConformDut('reference:slow'), /fault "slow".*wrong-used-len/);
  usage(() => parseConformDut('vhost-user:'), /missing the socket path/);
  usage(() => parseConformDut('vhost-user:dev.sock'), /must be absolute/);
});

test('--features names, with or without prefixes; VERSION_1 required', () => {
  assert.equal(parseFeatureList('VERSION_1,mrg_rxbuf,VIRTIO_F_EVENT_IDX,F_RING_PACKED'), bit(F.F_VERSION_1) | bit(F.NET_F_MRG_RXBUF) | bit(F.F_EVENT_IDX) | bit(F.F_RING_PACKED));
  usage(() => parseFeatureList('VERSION_1,TURBO'), /unknown feature "TURBO".*known names: CSUM/);
  usage(() => parseFeatureList('MRG_RXBUF'), /lacks VERSION_1/);
  usage(() => parseFeatureList(','), /--features is empty/);
});

test('--only IDs and groups', () => {
  assert.deepEqual(selectChecks('s4,N7').map((c) => c.id), ['S4', 'N7']);
  assert.deepEqual(selectChecks('A').map((c) => c.id), ['A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7']);
  assert.equal(selectChecks(undefined).length, CHECKS.length);
  usage(() => selectChecks('S4,Q1'), /unknown requirement "Q1".*known IDs: F1/);
});

test('--transport must match the device; --out must not hold a run; nothing is created', () => {
  usage(() => planConform({ dut: 'testpmd', transport: 'vhost-net' }), /reached over vhost-user, not vhost-net/);
  usage(() => planConform({ dut: 'vhost-net-tap', transport: 'vhost-user' }), /reached over vhost-net/);
  usage(() => planConform({ dut: 'reference', transport: 'vhost-user' }), /drop --transport/);
  usage(() => planConform({ dut: 'testpmd', transport: 'virtio-mmio' }), /unknown transport/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-conform-opt-'));
  try {
    fs.writeFileSync(path.join(dir, 'manifest.json'), '{}');
    usage(() => planConform({ dut: 'reference', out: dir }), /already holds a run/);
    const plan = planConform({ dut: 'testpmd', transport: 'vhost-user', only: 'F', out: path.join(dir, 'new') });
    assert.deepEqual(plan.checks.map((c) => c.id), ['F1', 'F2', 'F3', 'F4', 'F5']);
    assert.equal(fs.existsSync(path.join(dir, 'new')), false, 'planning creates nothing');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('every catalogue requirement has exactly one check, with section and level', () => {
  const catalogue = ['F1-5', 'S1-9', 'I1-3', 'N1-7', 'P1-7', 'O1-2', 'H1-11', 'M1-3', 'A1-7'].flatMap((g) => {
    const [, letter, from, to] = /^([A-Z])(\d+)-(\d+)$/.exec(g)!;
    return Array.from({ length: +to - +from + 1 }, (_, i) => `${letter}${+from + i}`);
  });
  assert.deepEqual(CHECKS.map((c) => c.id), catalogue);
  for (const c of CHECKS) {
    assert.match(c.section, /\d|vhost-user/, `${c.id} section`);
    assert.ok(c.level === 'MUST' || c.level === 'SHOULD');
    assert.equal(c.group, c.id[0]);
  }
});

test('--wire: loopback, or an interface (and its namespace) that exists; only for vhost-user:PATH', () => {
  const dut = 'vhost-user:/run/dev.sock';
  assert.deepEqual(planConform({ dut, wire: 'loopback', out: '/tmp/vnb-never-written' }).spec, { kind: 'vhost-user', path: '/run/dev.sock', wire: { kind: 'loopback' } });
  assert.deepEqual(planConform({ dut, wire: 'lo', out: '/tmp/vnb-never-written' }).spec, { kind: 'vhost-user', path: '/run/dev.sock', wire: { kind: 'interface', ifname: 'lo' } });
  usage(() => planConform({ dut: 'testpmd', wire: 'loopback' }), /--wire applies to --dut vhost-user:PATH only.*drop --wire/);
  usage(() => planConform({ dut, wire: 'loopback', wireNetns: 'x' }), /--wire-netns does not apply to --wire loopback/);
  usage(() => planConform({ dut, wireNetns: 'x' }), /--wire-netns needs --wire IFNAME/);
  usage(() => planConform({ dut, wire: 'a/b' }), /not an interface name/);
  usage(() => planConform({ dut, wire: 'x'.repeat(16) }), /not an interface name/);
  usage(() => planConform({ dut, wire: 'vnbnosuchif0' }), /no such interface in this namespace.*ip link/);
  usage(() => planConform({ dut, wire: 'eth0', wireNetns: 'vnb-no-such-ns' }), /--wire-netns vnb-no-such-ns: no such network namespace/);
  usage(() => planConform({ dut, wire: 'eth0', wireNetns: '../etc' }), /not a namespace name/);
});
