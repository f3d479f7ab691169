// Picks the ring format from the negotiated features (VIRTIO_F_RING_PACKED, §6) and builds the
// device-side queue over the device's memory table.

import { F, has } from '../features.ts';
import type { DeviceMemory } from './device-memory.ts';
import { PackedDeviceQueue } from './packed-queue.ts';
import { queueFeatures, type DeviceQueue, type DeviceQueueConfig } from './queue.ts';
import { SplitDeviceQueue } from './split-queue.ts';

export function createDeviceQueue(mem: DeviceMemory, cfg: DeviceQueueConfig, features: bigint): DeviceQueue {
  const flags = queueFeatures(features);
  return has(features, F.F_RING_PACKED) ? new PackedDeviceQueue(mem, cfg, flags) : new SplitDeviceQueue(mem, cfg, flags);
}
