// The agent's framing, host side: frames survive any chunking, noise and torn lines are ignored,
// and a line the guest makes endlessly long is dropped whole instead of growing a buffer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeField, decodeField, encodeRequest, parseFrame, shellField, FrameParser } from '../../../harness/guest/protocol.ts';
import { exec, succeeds } from '../../../harness/core/exec.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const result = (id: number, code: number, out: string, err: string) =>
  `VNB1 R ${id} ${code} ${out ? b64(out) : '-'} ${err ? b64(err) : '-'} END\n`;

test('fields round-trip, including empty strings, spaces and newlines', () => {
  for (const s of ['', ' ', 'a b', 'line\n', '\n\n', 'ünïcødé', '-', 'END']) {
    const f = encodeField(s);
    assert.doesNotMatch(f, /[\s]/);
    assert.equal(decodeField(f), s);
  }
});

test('a field that is not base64 is rejected, not half-decoded', () => {
  assert.equal(decodeField('abc'), undefined); // length not a multiple of 4
  assert.equal(decodeField('ab$d'), undefined);
  assert.equal(decodeField(''), undefined);
});

const awkward = ['ethtool', '-K', 'eth0', 'tso off', '', 'line\n', "it's", '"$HOME"', '`id`', '\\x41', '*', 'ünï', '%s', 'a\tb'];

test('requests carry one $\'..\' word per argument, no spaces inside, and the end marker', () => {
  const line = encodeRequest(7, 'exec', awkward);
  assert.ok(line.endsWith(' END\n'));
  const f = line.trim().split(' ');
  assert.deepEqual(f.slice(0, 3), ['VNB1', '7', 'exec']);
  assert.equal(f.length, 3 + awkward.length + 1, 'one field per argument');
  for (const w of f.slice(3, -1)) assert.match(w, /^\$'[A-Za-z0-9._/=:,+@%^\\-]*'$/);
  assert.equal(shellField('tso off'), "$'tso\\x20off'");
  assert.throws(() => encodeRequest(-1, 'ping', []), /non-negative integer/);
  assert.throws(() => shellField('a\0b'), /NUL/);
});

test("the guest's shell (busybox ash) decodes every field back to the exact argument", async (t) => {
  if (!(await succeeds(['busybox', 'true']))) return t.skip('busybox not installed on this host');
  const words = encodeRequest(1, 'exec', awkward).trim().split(' ').slice(3, -1).join(' ');
  // The same eval the agent runs, then each argument NUL-terminated so nothing is lost.
  const r = await exec(['busybox', 'sh', '-c', 'eval "set -- $1" && for a; do printf "%s\\0" "$a"; done', 'sh', words]);
  assert.deepEqual(r.stdout.split('\0').slice(0, -1), awkward);
});

test('parses result, READY and FAIL frames', () => {
  assert.deepEqual(parseFrame(result(3, 0, '6.1.0\n', '').trim()), {
    kind: 'result', id: 3, code: 0, stdout: '6.1.0\n', stderr: '',
  });
  assert.deepEqual(parseFrame(`VNB1 READY ${b64('eth0')} ${b64('198.18.0.2/24')} ${b64('2.31')} END`), {
    kind: 'ready', nic: 'eth0', cidr: '198.18.0.2/24', uptimeS: 2.31,
  });
  assert.deepEqual(parseFrame(`VNB1 FAIL ${b64('no vnb.ip=')} END`), { kind: 'fail', message: 'no vnb.ip=' });
});

test('lines that are not whole frames are ignored', () => {
  for (const line of [
    '[    2.61] ACPI: \\_SB_.GSIF: Enabled at IRQ 21',
    'VNB1 R 3 0 - -', // no END: torn
    'VNB1 R x 0 - - END', // id not a number
    'VNB1 R 3 0 - END', // a field missing
    'VNB1 R 3 0 !!!! - END', // stdout not base64
    'junk VNB1 R 3 0 - - END', // noise before the magic
    'VNB2 R 3 0 - - END',
    'VNB1 READY - END',
  ]) {
    assert.equal(parseFrame(line), undefined, line);
  }
});

test('frames split at every byte boundary come out whole and in order', () => {
  const stream = 'boot noise\n' + result(1, 0, 'a', '') + 'more noise\r\n' + result(2, 1, '', 'bad\n');
  for (let cut = 1; cut < stream.length; cut++) {
    const p = new FrameParser();
    const frames = [...p.push(stream.slice(0, cut)), ...p.push(stream.slice(cut))];
    assert.deepEqual(frames.map((f) => (f.kind === 'result' ? f.id : -1)), [1, 2], `cut at ${cut}`);
  }
});

test('noise interleaved between frames is counted and kept for diagnostics, frames still parse', () => {
  const p = new FrameParser();
  const frames = p.push(
    'random: crng init done\n' + result(5, 0, 'x', '') + 'VNB1 R 6 0 - -\n' + '\n' + result(6, 0, 'y', '') + 'tail without newline',
  );
  assert.deepEqual(frames.map((f) => (f.kind === 'result' ? f.stdout : '')), ['x', 'y']);
  assert.equal(p.noiseLines, 2);
  assert.deepEqual(p.recentNoise, ['random: crng init done', 'VNB1 R 6 0 - -']);
  // The unterminated tail waits for its newline.
  assert.deepEqual(p.push('\n'), []);
  assert.equal(p.noiseLines, 3);
});

test('a line longer than the limit is dropped whole, and the next frame parses', () => {
  const p = new FrameParser(1024);
  assert.deepEqual(p.push('x'.repeat(800)), []);
  assert.deepEqual(p.push('y'.repeat(800)), []); // now over the limit: discarded
  assert.deepEqual(p.push('z'.repeat(100) + result(9, 0, 'the rest', '').slice(0, 4)), []);
  const frames = p.push(result(9, 0, 'ok', '').slice(4)); // "... END\n" closes the dropped line
  assert.deepEqual(frames, []);
  assert.deepEqual(p.push(result(10, 0, 'ok', '')), [{ kind: 'result', id: 10, code: 0, stdout: 'ok', stderr: '' }]);
  assert.ok(p.noiseLines >= 1);
});

test('Buffer chunks decode the same as strings (replies are ASCII)', () => {
  const p = new FrameParser();
  const line = Buffer.from(result(4, 2, 'out', 'err'));
  assert.deepEqual(p.push(line.subarray(0, 10)), []);
  assert.deepEqual(p.push(line.subarray(10)), [{ kind: 'result', id: 4, code: 2, stdout: 'out', stderr: 'err' }]);
});
