// Backend name -> implementation. The AIO backends (aio-tap, aio-macvtap) live with the
// vhost-user device and register themselves here; a name with no implementation is a clear
// usage error, not a crash.
import type { BackendName } from '../config/schema.ts';
import { UsageError } from '../core/errors.ts';
import { copy } from './copy.ts';
import { macvtap } from './macvtap.ts';
import { macvtapVhost } from './macvtap-vhost.ts';
import { vhost } from './vhost.ts';
import { vhostRaw } from './vhost-raw.ts';
import { vhostUser } from './vhost-user.ts';
import { aioTap } from './aio-tap.ts';
import { aioMacvtap } from './aio-macvtap.ts';
import type { Backend } from './types.ts';

const REGISTRY = new Map<BackendName, Backend>(
  [copy, vhost, macvtap, macvtapVhost, vhostRaw, vhostUser, aioTap, aioMacvtap].map((b) => [b.name, b]),
);

export function registerBackend(b: Backend): void {
  REGISTRY.set(b.name, b);
}

export function backendNames(): BackendName[] {
  return [...REGISTRY.keys()];
}

export function getBackend(name: BackendName): Backend {
  const b = REGISTRY.get(name);
  if (!b) {
    throw new UsageError(`backend ${name} is not available in this build`, `implemented backends: ${backendNames().join(', ')}`);
  }
  return b;
}
