// The TCG stall's mechanism on this host's QEMU, for real: the ops QEMU generates for the guest
// driver's kick barrier. The harness's default (-smp 1,maxcpus=2) must keep it; QEMU's default
// (-smp 1) drops it before QEMU 8.0 (and keeps it from 8.0 on, where upstream fixed it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { output } from '../../../harness/core/exec.ts';
import { showKickBarriers } from '../../../harness/repro/tcg-barriers.ts';
import { isRoot } from '../topology/host-state.ts';

const skip = !isRoot() && 'needs root';

async function qemuMajor(): Promise<number> {
  const m = /version (\d+)\./.exec(await output(['qemu-system-x86_64', '--version']));
  assert.ok(m, 'qemu-system-x86_64 --version names a version');
  return Number(m[1]);
}

test("the guest's kick barrier survives translation with the harness's TCG settings", { skip, timeout: 240_000 }, async () => {
  const [off, on] = await showKickBarriers({ settings: ['off', 'on'], log: () => {} });
  assert.ok(off && on);
  assert.equal(on.qemuSmp, '1,maxcpus=2');
  assert.equal(off.qemuSmp, '1');
  assert.ok(on.blocks > 0 && off.blocks > 0, 'the kick function was translated while traffic ran');
  assert.ok(on.atomicCalls + on.barrierOps >= 1, `workaround: barrier kept (${JSON.stringify(on)})`);
  if ((await qemuMajor()) < 8) assert.equal(off.atomicCalls + off.barrierOps, 0, `QEMU < 8.0 default: barrier dropped (${JSON.stringify(off)})`);
  else assert.ok(off.atomicCalls + off.barrierOps >= 1, 'QEMU >= 8.0 keeps barriers by itself');
});
