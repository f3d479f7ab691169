// Live: the koffi network bindings inside a run-owned namespace. AF_PACKET sockets on both ends of
// a veth pair (PACKET_IGNORE_OUTGOING keeps our own frames out), and a tap opened with
// IFF_TAP|IFF_NO_PI|IFF_VNET_HDR where the 12-byte virtio-net header passes through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ledger } from '../../../harness/core/ledger.ts';
import { exec } from '../../../harness/core/exec.ts';
import { shortId, ifName } from '../../../harness/core/names.ts';
import { createVethNamespace } from '../../../harness/vhost/veth-namespace.ts';
import { inNetns } from '../../../harness/sys/netns.ts';
import { packetSocket } from '../../../harness/sys/packet.ts';
import { openTap } from '../../../harness/sys/tun.ts';
import { libc } from '../../../harness/sys/libc.ts';
import { testFrame, frameNonce, isTestFrame } from '../../../harness/vhost/frames.ts';

const root = process.getuid?.() === 0;

test('AF_PACKET across a veth pair, and a vnet-hdr tap, inside our namespace', { skip: root ? false : 'needs root' }, async () => {
  const ledger = Ledger.create(`test-sysnet-${shortId()}`);
  const id = shortId();
  try {
    const wire = await createVethNamespace(ledger, id, 'sys');
    const [a, b] = inNetns(wire.ns, () => [packetSocket(wire.dutIf), packetSocket(wire.probeIf)]);
    try {
      // Our namespace is not the host's: the veth is invisible from here.
      assert.equal(libc.if_nametoindex(wire.dutIf), 0, 'veth not visible in the host namespace');
      a.send(testFrame(7, 100));
      const got = await recvMatching(b, 7);
      assert.equal(frameNonce(got), 7);
      assert.equal(got.length, 100);
      // PACKET_IGNORE_OUTGOING: the sender does not see its own frame.
      await new Promise((r) => setTimeout(r, 100));
      const echoes = [];
      for (let f = a.tryRecv(); f; f = a.tryRecv()) echoes.push(f);
      assert.equal(echoes.filter(isTestFrame(7)).length, 0, 'no echo of our own transmission');
    } finally {
      a.close();
      b.close();
    }

    // Tap with IFF_VNET_HDR: writes carry a 12-byte header that the kernel strips.
    const tapName = ifName(id, 't');
    ledger.add({ kind: 'link', name: tapName, netns: wire.ns });
    const tap = inNetns(wire.ns, () => openTap(tapName, { vnetHdr: true, vnetHdrSize: 12 }));
    try {
      assert.equal(tap.name, tapName);
      await exec(['ip', '-n', wire.ns, 'link', 'set', tapName, 'up']);
      const cap = inNetns(wire.ns, () => packetSocket(tapName));
      try {
        const frame = testFrame(8, 90);
        const withHdr = new Uint8Array(12 + frame.length);
        withHdr.set(frame, 12); // flags 0, gso NONE: a plain frame
        assert.equal(libc.write(tap.fd, withHdr, withHdr.length), withHdr.length);
        const seen = await recvMatching(cap, 8);
        assert.deepEqual(Buffer.from(seen), Buffer.from(frame), 'header stripped, frame intact');
      } finally {
        cap.close();
      }
      const link = await exec(['ip', '-n', wire.ns, '-d', 'link', 'show', tapName]);
      assert.match(link.stdout, /tun type tap/);
      assert.match(link.stdout, /vnet_hdr on/);
    } finally {
      tap.close();
    }
  } finally {
    assert.deepEqual(await ledger.teardown(), []);
  }
  const ns = await exec(['ip', 'netns', 'list']);
  assert.ok(!ns.stdout.includes(`vnb-${id}-sys`), 'namespace removed');
});

async function recvMatching(s: { recv(ms: number): Promise<Uint8Array> }, nonce: number): Promise<Uint8Array> {
  for (;;) {
    const f = await s.recv(3000);
    if (frameNonce(f) === nonce) return f;
  }
}
