// The guest as a side: clients through the agent's exec (bounded), servers through its spawn,
// files through its readFile. Guest pids are not host pids, so no hostPid: the guest's CPU comes
// from its /proc/stat (the Sampler's guest source), not from per-process accounting.
import type { GuestAgent } from '../guest/types.ts';
import type { RunningServer, SideRunner, StartedCommand } from './sides.ts';

export function agentSide(agent: GuestAgent): SideRunner {
  return {
    side: 'guest',
    async start(argv, { timeoutMs }): Promise<StartedCommand> {
      const done = agent.exec(argv, { timeoutMs }).then((r) => ({ code: r.code, signal: null, stdout: r.stdout, stderr: r.stderr }));
      return { done };
    },
    async spawnServer(argv): Promise<RunningServer> {
      const pid = await agent.spawn(argv);
      return {
        output: () => `(guest pid ${pid}; its output stays in the guest)`,
        stop: async () => {
          // The guest dies with QEMU anyway; stopping early frees the port for the next cell.
          await agent.exec(['kill', String(pid)], { timeoutMs: 10_000 });
        },
      };
    },
    readFile: (path) => agent.readFile(path),
  };
}
