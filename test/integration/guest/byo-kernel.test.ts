// Bringing your own kernel: --kernel/--modules/--initrd. The Debian kernel stands in for a
// kernel under test (any bzImage with its lib/modules/<release> works the same way); the extra
// initramfs carries a file that must appear in the guest next to ours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ledger } from '../../../harness/core/ledger.ts';
import { shortId } from '../../../harness/core/names.ts';
import { ensureImage } from '../../../harness/guest/image.ts';
import { writeCpio } from '../../../harness/guest/cpio.ts';
import { launchGuest } from '../../../harness/guest/qemu.ts';
import { debsDir } from '../../../harness/setup/debfetch.ts';
import { baseSpec, isolateState, missing, testImage } from './helpers.ts';

test('a user kernel, its modules and an extra initramfs boot, and the inputs key the cache', { timeout: 600_000 }, async (t) => {
  const why = await missing();
  if (why) return t.skip(why);
  const stateDir = isolateState();
  const debian = await testImage(); // fetches the Debian kernel that plays the user's kernel
  const id = shortId();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `vnb-${id}-work-`));
  const ledger = Ledger.create(`guest-test-${id}`);
  t.after(async () => {
    await ledger.teardown();
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const { kernel, modules } = debianKernelFiles(debian.kernelRelease);
  const extra = path.join(work, 'extra.cpio');
  fs.writeFileSync(extra, writeCpio([{ kind: 'dir', path: 'etc' }, { kind: 'file', path: 'etc/byo-marker', data: Buffer.from(`from ${id}\n`) }]));

  // Same kernel and modules as the default image: same content, same cache entry.
  const same = await ensureImage({ kernel, modules });
  assert.equal(same.hash, debian.hash);
  assert.equal(same.cached, true);

  const byo = await ensureImage({ kernel, modules, initrd: extra });
  assert.notEqual(byo.hash, debian.hash, 'an extra initramfs is an input');
  assert.equal(byo.kernelRelease, debian.kernelRelease);
  const again = await ensureImage({ kernel, modules, initrd: extra });
  assert.equal(again.cached, true);
  assert.equal(again.hash, byo.hash);

  const g = await launchGuest(baseSpec(byo, `vnb${id}byo`, work), ledger);
  try {
    assert.equal(await g.agent.readFile('/etc/byo-marker'), `from ${id}\n`, 'the extra initramfs is unpacked');
    assert.equal((await g.agent.exec(['uname', '-r'])).stdout.trim(), debian.kernelRelease);
    assert.match(await g.agent.readFile('/etc/inittab'), /vnb-agent/, 'ours still provides /init');
  } finally {
    await g.shutdown();
  }
  assert.deepEqual(ledger.live(), []);
});

/** The unpacked Debian kernel package in the cache (the image build fetched it). */
function debianKernelFiles(release: string): { kernel: string; modules: string } {
  const roots = path.join(debsDir(), 'root');
  const dir = fs.readdirSync(roots).find((d) => d.startsWith(`linux-image-${release}_`));
  assert.ok(dir, `linux-image-${release} unpacked under ${roots}`);
  return {
    kernel: path.join(roots, dir, 'boot', `vmlinuz-${release}`),
    modules: path.join(roots, dir, 'lib', 'modules', release),
  };
}
