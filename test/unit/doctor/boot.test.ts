// The probe boot sector's bytes and the evidence built from QEMU's (captured) stderr. The KVM and
// TCG verdicts built on it are in accel.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fixturesDir } from '../../../harness/core/paths.ts';
import { BOOT_MARKER, bootSector } from '../../../harness/doctor/bootsector.ts';
import { bootArgs } from '../../../harness/doctor/boot.ts';
import { describeAttempt, stderrGist } from '../../../harness/doctor/parsers/boot.ts';

const captured = (f: string) => fs.readFileSync(path.join(fixturesDir(), 'doctor', 'captured', f), 'utf8');

test('boot sector: 512 bytes, 55 aa signature, marker addressed by mov si', () => {
  const s = bootSector();
  assert.equal(s.length, 512);
  assert.deepEqual([s[510], s[511]], [0x55, 0xaa]);
  assert.equal(s[0], 0xfa, 'starts with cli');
  assert.equal(s[8], 0xbe, 'mov si, imm16 at offset 8');
  const msgAddr = s[9] | (s[10] << 8);
  const at = msgAddr - 0x7c00;
  assert.equal(Buffer.from(s.subarray(at, at + BOOT_MARKER.length)).toString('ascii'), BOOT_MARKER);
  assert.equal(s[at + BOOT_MARKER.length], 0x0a);
  assert.equal(s[at + BOOT_MARKER.length + 1], 0, 'NUL ends the loop');
});

test('boot sector: the out loop jumps back to lodsb and the halt loop to hlt', () => {
  const s = bootSector();
  // jmp rel8 at 0x11: target = 0x13 + (int8)0xf8 = 0x0b (lodsb)
  assert.equal(s[0x11], 0xeb);
  assert.equal(0x13 + ((s[0x12] << 24) >> 24), 0x0b);
  assert.equal(s[0x0b], 0xac);
  // jz rel8 at 0x0e: target = 0x10 + 3 = 0x13 (hlt)
  assert.equal(s[0x13], 0xf4);
  assert.equal(0x16 + ((s[0x15] << 24) >> 24), 0x13);
});

test('a marker too long for one sector is refused', () => {
  assert.throws(() => bootSector('x'.repeat(500)), /too long/);
});

test('QEMU arguments: floppy boot, serial on stdio, no defaults, extra args last', () => {
  const a = bootArgs({ qemu: 'q', accel: 'kvm', image: '/x.bin', deadlineMs: 1, extra: ['-cpu', 'host'] });
  assert.deepEqual(a.slice(0, 2), ['-accel', 'kvm']);
  assert.ok(a.includes('-nodefaults'));
  assert.equal(a[a.indexOf('-serial') + 1], 'stdio');
  assert.match(a[a.indexOf('-drive') + 1], /^file=\/x\.bin,format=raw,if=floppy/);
  assert.deepEqual(a.slice(-2), ['-cpu', 'host']);
});

test('stderr gist: the MSR error of -cpu host on a PVM host (captured)', () => {
  assert.equal(stderrGist(captured('qemu-kvm-cpu-host-stderr.txt')), 'error: failed to set MSR 0x10a to 0x69');
});

test('stderr gist: the CPUID warning, not the timeout\'s termination line (captured)', () => {
  assert.equal(stderrGist(captured('qemu-kvm-default-stderr.txt')), "warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]");
});

test('stderr gist: QEMU\'s own error when /dev/kvm does not exist (captured)', () => {
  assert.equal(stderrGist(captured('qemu-kvm-no-device-stderr.txt')), '-accel kvm: failed to initialize kvm: No such file or directory');
});

test('describeAttempt says how a boot ended', () => {
  assert.match(describeAttempt({ kind: 'spawn-failed', ms: 1, error: 'spawn q ENOENT' }), /could not start QEMU: spawn q ENOENT/);
  assert.equal(
    describeAttempt({ kind: 'exited', ms: 5, code: 1, signal: null, stderr: captured('qemu-kvm-no-device-stderr.txt') }),
    'QEMU exited (code 1) after 5 ms before the marker: -accel kvm: failed to initialize kvm: No such file or directory',
  );
  assert.equal(describeAttempt({ kind: 'timeout', ms: 3004, stderr: '' }), 'no marker on serial within 3.0 s');
  assert.equal(describeAttempt({ kind: 'marker', ms: 58, stderr: '' }), 'marker on serial after 58 ms');
});
