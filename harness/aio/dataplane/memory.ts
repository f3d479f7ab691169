// The Worker's own mapping of the memory table: each region's fd mapped MAP_SHARED (from offset
// 0, covering mmap_offset + size, as libvhost-user does, so any mmap_offset works), viewed as
// DeviceMemory for the queues, plus each region's native address for iovecs. The control plane
// already checked every region against its fd's size, so no access can fault past the file end.
import { GuestMemory, type MemoryRegion } from '../../virtio/memory.ts';
import { DeviceMemory } from '../../virtio/device/device-memory.ts';
import { mapFd } from '../../sys/memfd.ts';
import type { PlanMemory } from './plan.ts';

export interface WorkerMemory {
  version: number;
  device: DeviceMemory;
  /** Native address of each region's first byte (index as in DeviceMemory). */
  hostAddr: Float64Array;
}

export function mapPlanMemory(plan: PlanMemory): WorkerMemory {
  const hostAddr = new Float64Array(plan.regions.length);
  const regions: MemoryRegion[] = plan.regions.map((r, i) => {
    const m = mapFd(r.fd, r.mmapOffset + r.size, 0);
    hostAddr[i] = Number(m.addr) + r.mmapOffset;
    return {
      gpa: BigInt(r.gpa),
      size: r.size,
      uva: 0n,
      mmapOffset: r.mmapOffset,
      fd: r.fd,
      bytes: m.bytes.subarray(r.mmapOffset, r.mmapOffset + r.size),
    };
  });
  return { version: plan.version, device: new DeviceMemory(new GuestMemory(regions)), hostAddr };
}
