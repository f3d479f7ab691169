// ioctl request numbers (asm-generic/ioctl.h encoding) and a checked ioctl with a struct buffer.
import { libc, check } from './libc.ts';

const IOC_WRITE = 1;
const IOC_READ = 2;

function ioc(dir: number, type: number, nr: number, size: number): number {
  // dir in bits 30-31 can exceed 2^31: compute as unsigned.
  return ((dir << 30) | (size << 16) | (type << 8) | nr) >>> 0;
}
export const IO = (type: number, nr: number) => ioc(0, type, nr, 0);
export const IOW = (type: number, nr: number, size: number) => ioc(IOC_WRITE, type, nr, size);
export const IOR = (type: number, nr: number, size: number) => ioc(IOC_READ, type, nr, size);
export const IOWR = (type: number, nr: number, size: number) => ioc(IOC_READ | IOC_WRITE, type, nr, size);

/** ioctl(fd, req, &struct): the kernel reads and/or writes `arg` in place. */
export function ioctlPtr(fd: number, req: number, arg: Uint8Array, what: string): number {
  return check('ioctl', libc.ioctlPtr(fd, req, arg), `${what} 0x${req.toString(16)} on fd ${fd}`);
}

/** ioctl(fd, req, value) for requests that take an integer argument by value. */
export function ioctlInt(fd: number, req: number, value: number, what: string): number {
  return check('ioctl', libc.ioctlInt(fd, req, value), `${what} 0x${req.toString(16)} on fd ${fd}`);
}
