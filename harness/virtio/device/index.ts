// Device side of the virtio ring library: strict split/packed queues for device implementations
// (the aio-tap vhost-user backend's data path), and an in-process reference virtio-net device
// with deliberately broken variants for proving conformance checks.

export { broken, describeBroken, type Broken, type BrokenReason } from './broken.ts';
export { DescChain, EMPTY, type Empty, type PopResult } from './chain.ts';
export { createDeviceQueue } from './create-queue.ts';
export { DeviceMemory } from './device-memory.ts';
export { SegmentList } from './segments.ts';
export { queueFeatures, type DeviceQueue, type DeviceQueueConfig, type QueueFeatures } from './queue.ts';
export { SplitDeviceQueue } from './split-queue.ts';
export { PackedDeviceQueue } from './packed-queue.ts';
export { rejectFeatures, NET_FEATURE_REQUIRES } from './net-features.ts';
export {
  NET_HDR_LEN,
  REFERENCE_NET_FEATURES,
  ReferenceNetDevice,
  type DeviceBroken,
  type InjectOptions,
  type InjectResult,
  type ReferenceNetOptions,
} from './reference-net.ts';
export {
  BROKEN_NET_DEVICES,
  FAULT_REQUIREMENT,
  NET_FAULTS,
  brokenNetDevice,
  faultSpecName,
  parseFaultSpec,
  type BrokenNetOptions,
  type FaultSpec,
  type NetFault,
} from './broken-net.ts';
export { FaultTrigger, faultModeName, parseFaultMode, type FaultMode } from './fault-trigger.ts';
