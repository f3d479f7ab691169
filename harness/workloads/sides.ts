// How the runner reaches a side. The peer is a namespace on this host (hostSide in host-side.ts);
// the guest is reached through its agent (the guest layer adapts GuestAgent to this interface).
import type { Side } from './types.ts';

export interface Outcome {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface StartedCommand {
  /** Host pid when the command runs on this host (for CPU accounting); undefined in a guest. */
  hostPid?: number;
  done: Promise<Outcome>;
}

export interface RunningServer {
  hostPid?: number;
  /** What the server printed so far (for error messages). */
  output(): string;
  stop(): Promise<void>;
}

export interface SideRunner {
  readonly side: Side;
  /** Start a client and collect its output; `done` rejects with TimeoutError after timeoutMs. */
  start(argv: string[], opts: { timeoutMs: number }): Promise<StartedCommand>;
  /** Start a long-running server (recorded for teardown); resolves once it is spawned. */
  spawnServer(argv: string[]): Promise<RunningServer>;
  /** Read a file as this side sees it (procfs is per namespace: /proc/net/tcp differs). */
  readFile(path: string): Promise<string>;
}

/**
 * True when a socket is bound to `port` in /proc/net/{tcp,tcp6,udp,udp6} text: a TCP socket in
 * LISTEN (st 0A) or an unconnected UDP socket (st 07).
 */
export function listeningOn(procNetText: string, port: number, proto: 'tcp' | 'udp'): boolean {
  const want = proto === 'tcp' ? '0A' : '07';
  for (const line of procNetText.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    const local = f[1];
    const p = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    if (p === port && f[3].toUpperCase() === want) return true;
  }
  return false;
}
