// SET_MEM_TABLE checks, with real memfds: every region must lie inside its fd (else an access
// would SIGBUS the device), one fd per region, no overlapping GPAs; UVAs translate to GPAs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryTable } from '../../../harness/aio/control/memory-table.ts';
import { Refused } from '../../../harness/aio/control/refusal.ts';
import { createMemfd } from '../../../harness/sys/memfd.ts';

const region = (gpa: bigint, size: bigint, uva: bigint, mmapOffset = 0n) => ({ gpa, size, uva, mmapOffset });

test('a valid table translates user addresses inside one region, and nothing else', () => {
  const m = createMemfd('vnbtest', 2 << 20);
  const t = MemoryTable.fromMessage({ regions: [region(0x1000_0000n, 0x10_0000n, 0x7f00_0000_0000n), region(0x2000_0000n, 0x10_0000n, 0x7f00_1000_0000n, 0x10_0000n)] }, [m.fd, m.fd], 1);
  assert.equal(t.uvaToGpa(0x7f00_0000_0010n, 16), 0x1000_0010);
  assert.equal(t.uvaToGpa(0x7f00_1000_0000n + 0xfff00n, 0x100), 0x2000_0000 + 0xfff00);
  assert.equal(t.uvaToGpa(0x7f00_1000_0000n + 0xfff00n, 0x101), undefined, 'runs past the region end');
  assert.equal(t.uvaToGpa(0x1000_0010n, 1), undefined, 'a GPA is not a user address');
  assert.deepEqual(t.plan().regions.map((r) => [r.gpa, r.size, r.mmapOffset]), [[0x1000_0000, 0x10_0000, 0], [0x2000_0000, 0x10_0000, 0x10_0000]]);
  m.close();
});

test('refused: a region past the end of its memfd, fd count mismatch, overlap, size 0, GPA above 2^52', () => {
  const m = createMemfd('vnbtest', 1 << 20);
  const refused = (regions: ReturnType<typeof region>[], fds: number[], re: RegExp) =>
    assert.throws(() => MemoryTable.fromMessage({ regions }, fds, 1), (e: unknown) => e instanceof Refused && re.test(e.message));
  refused([region(0n, 0x20_0000n, 0x1000n)], [m.fd], /runs past the end of its fd/);
  refused([region(0n, 0x8_0000n, 0x1000n, 0x9_0000n)], [m.fd], /mmap_offset 0x90000 \+ size runs past the end/);
  refused([region(0n, 0x1000n, 0x1000n), region(0x10000n, 0x1000n, 0x9000n)], [m.fd], /2 regions but 1 fds/);
  refused([region(0n, 0x8000n, 0x1000n), region(0x4000n, 0x1000n, 0x9000_0000n)], [m.fd, m.fd], /overlap/);
  refused([region(0n, 0n, 0x1000n)], [m.fd], /size 0/);
  refused([region(2n ** 52n - 0x1000n, 0x2000n, 0x1000n)], [m.fd], /above 2\^52/);
  refused([], [], /no regions/);
  m.close();
});
