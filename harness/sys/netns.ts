// Entering a network namespace for a moment: setns(2) moves only the calling thread, and a socket
// keeps the namespace it was created in. So `inNetns(name, fn)` switches the main thread into
// /run/netns/<name>, runs `fn` synchronously (create and bind sockets there), and switches back
// before any other JavaScript can run. Long-lived work in a namespace uses `ip netns exec` instead.
import { libc, check, closeQuiet, errno, SysError, O_CLOEXEC, O_RDONLY } from './libc.ts';

const CLONE_NEWNET = 0x40000000;

function openNs(path: string): number {
  const fd = libc.open(path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) throw new SysError('open', errno(), path);
  return fd;
}

export function inNetns<T>(name: string, fn: () => T): T {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new RangeError(`bad namespace name: ${JSON.stringify(name)}`);
  const target = openNs(`/run/netns/${name}`);
  const home = openNs('/proc/thread-self/ns/net');
  try {
    check('setns', libc.setns(target, CLONE_NEWNET), `netns ${name}`);
    try {
      return fn();
    } finally {
      // Failing to return would leave the whole main thread in the run's namespace.
      if (libc.setns(home, CLONE_NEWNET) < 0) {
        const e = new SysError('setns', errno(), 'back to the original namespace');
        process.stderr.write(`vnetbench: fatal: ${e.message}\n`);
        process.exit(70);
      }
    }
  } finally {
    closeQuiet(target);
    closeQuiet(home);
  }
}
