// The guest image as a setup step: built from Debian packages into the content-addressed cache.
// `vnetbench run` re-checks the inputs and rebuilds only when they changed.
import fs from 'node:fs';
import path from 'node:path';
import { ensureImage, imagesDir } from '../guest/image.ts';
import type { SetupStep } from './step.ts';

function builtImages(): string[] {
  const dir = imagesDir();
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((d) => fs.existsSync(path.join(dir, d, 'manifest.json')));
}

export const imageStep: SetupStep = {
  name: 'guest image',
  why: 'kernel + initramfs the guests boot (Debian cloud kernel, busybox, netperf, iperf3, sockperf, agent)',
  manual: 'vnetbench image build',
  async check() {
    const built = builtImages();
    return built.length
      ? { present: true, detail: `${built.length} image(s) in ${imagesDir()}` }
      : { present: false, detail: `no image in ${imagesDir()}` };
  },
  async install(ctx) {
    const img = await ensureImage({ log: ctx.log });
    ctx.log(`guest image ${img.hash.slice(0, 16)}: ${img.kernel}, ${img.initrd}`);
  },
};
