// Engine name -> implementation.
import { IoUringEngine } from './io-uring.ts';
import { LinuxAioEngine } from './linux-aio.ts';
import type { Engine, EngineName, EngineOptions } from './types.ts';

export function createEngine(name: EngineName, o: EngineOptions): Engine {
  switch (name) {
    case 'io_uring':
      return new IoUringEngine(o);
    case 'linux-aio':
      return new LinuxAioEngine(o);
  }
}

export { ENGINE_NAMES, type Engine, type EngineName } from './types.ts';
