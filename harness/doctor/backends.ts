// Doctor's backend table: for every backend the schema names, what that backend's own file says
// about this host (Backend.availability, built from harness/backends/requirements.ts). `vnetbench
// run` asks the same function, so doctor and run never disagree about what can run.
import { BACKENDS, type BackendName } from '../config/schema.ts';
import { backendNames, getBackend } from '../backends/registry.ts';
import type { Availability, Backend } from '../backends/types.ts';
import type { HostCapabilities } from './capabilities.ts';

export type BackendAvailability = Availability & { name: BackendName };

export const NOT_IMPLEMENTED = 'not implemented in this build';

/** The implementation of a backend name, if this build has one. */
export type BackendLookup = (name: BackendName) => Backend | undefined;

const registered: BackendLookup = (name) => (backendNames().includes(name) ? getBackend(name) : undefined);

export function backendAvailability(c: HostCapabilities, name: BackendName, lookup = registered): BackendAvailability {
  const backend = lookup(name);
  if (!backend) {
    const built = BACKENDS.filter((b) => lookup(b));
    return { name, runnable: false, reason: NOT_IMPLEMENTED, fix: `use a build that implements ${name}; this one has ${built.join(', ')}` };
  }
  return { name, ...backend.availability(c) };
}

export function backendTable(c: HostCapabilities, lookup = registered): BackendAvailability[] {
  return BACKENDS.map((b) => backendAvailability(c, b, lookup));
}
