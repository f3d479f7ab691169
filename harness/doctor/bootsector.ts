// A 512-byte real-mode boot sector that writes a marker to COM1 and halts: the smallest real
// guest there is. The BIOS (SeaBIOS) loads it at 0000:7c00 and jumps to it, so a marker on the
// serial port proves the accelerator ran firmware and guest code end to end.
//
//   7c00  fa          cli
//   7c01  31 c0       xor  ax, ax
//   7c03  8e d8       mov  ds, ax
//   7c05  ba f8 03    mov  dx, 0x3f8          ; COM1 data port
//   7c08  be LL HH    mov  si, msg            ; 0x7c00 + CODE.length
//   7c0b  ac          lodsb                   ; next: al = [ds:si++]
//   7c0c  84 c0       test al, al
//   7c0e  74 03       jz   halt
//   7c10  ee          out  dx, al
//   7c11  eb f8       jmp  next
//   7c13  f4          hlt                     ; halt: (interrupts are off, so this stays)
//   7c14  eb fd       jmp  halt
//   7c16  msg: MARKER, "\n", 0
//   7dfe  55 aa       boot signature
export const BOOT_MARKER = 'VNB-BOOT-OK';

const LOAD_ADDRESS = 0x7c00;
const SECTOR = 512;

export function bootSector(marker = BOOT_MARKER): Uint8Array {
  const code = [0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0xba, 0xf8, 0x03, 0xbe, 0, 0, 0xac, 0x84, 0xc0, 0x74, 0x03, 0xee, 0xeb, 0xf8, 0xf4, 0xeb, 0xfd];
  const msgAt = LOAD_ADDRESS + code.length;
  code[9] = msgAt & 0xff;
  code[10] = msgAt >> 8;
  const msg = Buffer.from(`${marker}\n\0`, 'ascii');
  if (code.length + msg.length > SECTOR - 2) throw new Error(`boot marker too long (${marker.length} bytes)`);
  const out = new Uint8Array(SECTOR);
  out.set(code, 0);
  out.set(msg, code.length);
  out[510] = 0x55;
  out[511] = 0xaa;
  return out;
}
