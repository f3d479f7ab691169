// The scratch network namespace doctor creates its test links in. Every object is written to the
// ledger before it is created; links are deleted as soon as their probe is done and the namespace
// goes with the ledger's teardown (normal end, error, SIGINT, SIGTERM alike).
import { exec, formatArgv, type CommandResult } from '../core/exec.ts';
import { ifName, nsName } from '../core/names.ts';
import type { Ledger } from '../core/ledger.ts';
import { isTearingDown } from '../core/lifecycle.ts';

/** Once a signal started teardown, nothing new is created: teardown only removes what it saw. */
export function refuseDuringTeardown(what: string): void {
  if (isTearingDown()) throw new Error(`not creating ${what}: tearing down`);
}

export interface LinkInfo {
  ifindex: number;
  ifname: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

export class Scratch {
  private constructor(
    readonly ledger: Ledger,
    readonly id: string,
    readonly ns: string,
  ) {}

  /** Create the namespace; the result carries the command's outcome for evidence. */
  static async create(ledger: Ledger, id: string): Promise<{ scratch?: Scratch; result: CommandResult }> {
    const ns = nsName(id, 'doctor');
    refuseDuringTeardown(ns);
    // make(): teardown waits for a creation in flight, so a namespace being made when a signal
    // arrives is removed too.
    const result = await ledger.make({ kind: 'netns', name: ns }, () => exec(['ip', 'netns', 'add', ns], { nothrow: true }));
    return { scratch: result.code === 0 ? new Scratch(ledger, id, ns) : undefined, result };
  }

  linkName(role: string): string {
    return ifName(this.id, role);
  }

  /** `ip -n NS link add NAME <spec...>`, recorded first. */
  async addLink(name: string, spec: readonly string[], extraNames: readonly string[] = []): Promise<CommandResult> {
    refuseDuringTeardown(name);
    for (const n of extraNames) this.ledger.add({ kind: 'link', name: n, netns: this.ns });
    return this.ledger.make({ kind: 'link', name, netns: this.ns }, () =>
      exec(['ip', '-n', this.ns, 'link', 'add', name, ...spec], { nothrow: true }),
    );
  }

  /** `ip -n NS tuntap add dev NAME mode tap vnet_hdr`, recorded first (TUNSETIFF + TUNSETPERSIST). */
  async addTap(name: string): Promise<CommandResult> {
    refuseDuringTeardown(name);
    return this.ledger.make({ kind: 'link', name, netns: this.ns }, () =>
      exec(['ip', '-n', this.ns, 'tuntap', 'add', 'dev', name, 'mode', 'tap', 'vnet_hdr'], { nothrow: true }),
    );
  }

  /** Any other command run in the namespace context of ip (`ip -n NS ...`). */
  ip(args: readonly string[]): Promise<CommandResult> {
    return exec(['ip', '-n', this.ns, ...args], { nothrow: true });
  }

  async delLink(name: string, peers: readonly string[] = []): Promise<void> {
    const r = await exec(['ip', '-n', this.ns, 'link', 'del', name], { nothrow: true });
    if (r.code === 0 || /Cannot find device/.test(r.stderr)) {
      for (const n of [name, ...peers]) this.ledger.removed({ kind: 'link', name: n, netns: this.ns });
    }
  }

  async show(name: string): Promise<LinkInfo | undefined> {
    const r = await exec(['ip', '-n', this.ns, '-d', '-j', 'link', 'show', 'dev', name], { nothrow: true });
    if (r.code !== 0) return undefined;
    return (JSON.parse(r.stdout) as LinkInfo[])[0];
  }
}

/** A failed command as one evidence line: the argv and its last stderr line. */
export function failure(r: CommandResult): string {
  const why = r.stderr.trim().split('\n').at(-1) || `exit ${r.code}`;
  return `\`${formatArgv(r.argv)}\` failed: ${why}`;
}
