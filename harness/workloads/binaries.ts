// Where each workload tool is, per side. In the guest the image puts the tools on PATH, so a bare
// name is right there. On the host (the peer namespace runs host binaries) harness/setup/tools.ts
// knows: netperf/netserver from the project cache (Debian non-free, fetched by `vnetbench setup`),
// iperf3 and sockperf from PATH. A missing tool is a CapabilityError with the fix.
import { findTool, toolPath } from '../setup/tools.ts';
import type { Side, ToolName, ToolResolver } from './types.ts';

/** The run's resolver: guest side -> bare name (guest PATH); peer side -> host path. */
export const hostTools: ToolResolver = (tool: ToolName, side: Side) => (side === 'guest' ? tool : toolPath(tool));

/**
 * Host binaries on both sides: for runs where the "guest" is a namespace on this host too
 * (integration tests, fixture capture).
 */
export const hostToolsBothSides: ToolResolver = (tool: ToolName) => toolPath(tool);

/** Path of a tool on the host, or undefined (for skip reasons; never throws). */
export function hostToolAvailable(tool: ToolName): string | undefined {
  return findTool(tool);
}
