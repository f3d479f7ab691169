// What the control plane (main thread) tells a queue pair's Worker, and what it answers. The
// control plane owns every fd and all vhost-user state; it sends the pair's whole desired state
// (a plan) after each change, and the Worker reconciles its rings with it. Plain data only: it
// crosses threads by structured clone.

/** One region of the memory table, as the Worker maps it (GPAs below 2^52, see DeviceMemory). */
export interface PlanRegion {
  gpa: number;
  size: number;
  /** memfd (or other mappable fd) owned by the control plane; the Worker maps it. */
  fd: number;
  /** Where the region starts inside the fd (vhost-user mmap_offset). */
  mmapOffset: number;
}

export interface PlanMemory {
  /** Bumped by every SET_MEM_TABLE; the Worker remaps when it changes. */
  version: number;
  regions: PlanRegion[];
}

/** Ring areas as guest-physical addresses (translated from the front-end's UVAs). */
export interface PlanRingLayout {
  size: number;
  desc: number;
  driver: number;
  device: number;
}

export interface RingPlan {
  /** Started (kick fd received), fully configured, and the device is live (DRIVER_OK when STATUS is used). */
  running: boolean;
  /** SET_VRING_ENABLE state (always true without VHOST_USER_F_PROTOCOL_FEATURES). */
  enabled: boolean;
  layout: PlanRingLayout | null;
  /** Where to start: used when `baseGeneration` changes or the ring starts from stopped. */
  base: number;
  /** Bumped by SET_VRING_BASE. */
  baseGeneration: number;
  /** Bumped by SET_VRING_NUM / SET_VRING_ADDR: a running ring restarts from where it is. */
  layoutGeneration: number;
  kickFd: number;
  /** -1: no notifications. */
  callFd: number;
  /** -1: none; signalled when the ring breaks. */
  errFd: number;
}

export interface PairPlan {
  seq: number;
  /** Negotiated virtio features (bigint as a decimal string: structured clone keeps bigint, but JSON logs do not). */
  features: string;
  memory: PlanMemory | null;
  /** [RX ring 2k, TX ring 2k+1]. */
  rings: [RingPlan, RingPlan];
}

export type WorkerCommand = { type: 'plan'; plan: PairPlan } | { type: 'exit' };

/** A ring the Worker stopped in this reconcile, and where (GET_VRING_BASE value). */
export interface StoppedRing {
  ring: 0 | 1;
  base: number;
}

export type WorkerEvent =
  | { type: 'ready' }
  | { type: 'ack'; seq: number; stopped: StoppedRing[] }
  | { type: 'broken'; ring: 0 | 1; reason: string; clause: string; message: string }
  | { type: 'log'; message: string }
  | { type: 'fatal'; message: string };

export function emptyRingPlan(): RingPlan {
  return { running: false, enabled: false, layout: null, base: 0, baseGeneration: 0, layoutGeneration: 0, kickFd: -1, callFd: -1, errFd: -1 };
}
