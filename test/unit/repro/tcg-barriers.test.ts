// The mechanism reproducer's parsers: the kick function's range from /proc/kallsyms, and barrier
// counts from QEMU's recorded -d op logs (fixtures/tcg-ops, see its README).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { countOps, findSymbol, findSymbols, KICK_FUNCTIONS } from '../../../harness/repro/tcg-barriers.ts';

// Lines as the guest's /proc/kallsyms prints them (module symbols carry [module]).
const kallsyms = [
  'ffffffffc02052b0 r __crc_virtqueue_kick_prepare\t[virtio_ring]',
  'ffffffffc0201d70 t virtqueue_notify\t[virtio_ring]',
  'ffffffffc0201ca0 t virtqueue_kick_prepare\t[virtio_ring]',
  'ffffffff81000000 T _stext',
  'ffffffffc0201c00 t virtqueue_add\t[virtio_ring]',
].join('\n');

test('a text symbol and its extent up to the next text symbol; data symbols ignored', () => {
  assert.deepEqual(findSymbol(kallsyms, 'virtqueue_kick_prepare'), { name: 'virtqueue_kick_prepare', start: 0xffffffffc0201ca0n, size: 0xd0n });
  assert.equal(findSymbol(kallsyms, '__crc_virtqueue_kick_prepare'), undefined, 'r (read-only data) is not text');
  assert.equal(findSymbol(kallsyms, 'nope'), undefined);
});

test('the split-ring variant when the kernel has it, else the exported function it is inlined into', () => {
  assert.equal(findSymbols(kallsyms, KICK_FUNCTIONS)?.name, 'virtqueue_kick_prepare');
  const withSplit = `${kallsyms}\nffffffffc0201b00 t virtqueue_kick_prepare_split\t[virtio_ring]`;
  assert.equal(findSymbols(withSplit, KICK_FUNCTIONS)?.name, 'virtqueue_kick_prepare_split');
});

test('hidden addresses (kptr_restrict) are not a symbol', () => {
  assert.equal(findSymbol('0000000000000000 t virtqueue_kick_prepare\t[virtio_ring]', 'virtqueue_kick_prepare'), undefined);
});

test('recorded ops: -smp 1 drops the barrier, -smp 1,maxcpus=2 keeps it as a host atomic', () => {
  const off = countOps(fs.readFileSync('fixtures/tcg-ops/ops-off.txt', 'utf8'));
  const on = countOps(fs.readFileSync('fixtures/tcg-ops/ops-on.txt', 'utf8'));
  assert.ok(off.blocks > 0 && on.blocks > 0, 'the function was translated in both');
  assert.equal(off.atomicCalls + off.barrierOps, 0);
  assert.ok(on.atomicCalls >= 1);
});

test('op counting: block heads, atomic helper calls, mb ops', () => {
  const log = ['OP:', ' ---- 0000000000000d1c 0000000000000000', ' call atomic_add_fetchl_le,$0x2,$1,tmp13', ' mb $0x3f', 'OP:', ' qemu_ld_i64 tmp13,tmp2,leul,4'].join('\n');
  assert.deepEqual(countOps(log), { blocks: 2, atomicCalls: 1, barrierOps: 1 });
});
