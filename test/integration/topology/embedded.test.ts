// The embedded topology for real: two namespaces, a veth wire, the peer address; traffic crosses
// the wire; teardown leaves nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exec, output } from '../../../harness/core/exec.ts';
import { Ledger } from '../../../harness/core/ledger.ts';
import { shortId } from '../../../harness/core/names.ts';
import { topologyProvider } from '../../../harness/topology/index.ts';
import { isRoot, pingArgv, settle } from './host-state.ts';

let stateDir: string;
before(() => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnbtest-state-'));
  process.env.VNETBENCH_STATE_DIR = stateDir;
});
after(() => fs.rmSync(stateDir, { recursive: true, force: true }));

const linkJson = async (ns: string, dev: string) =>
  (JSON.parse(await output(['ip', '-n', ns, '-j', 'addr', 'show', 'dev', dev])) as {
    flags: string[];
    address: string;
    addr_info: { family: string; local: string; prefixlen: number }[];
  }[])[0]!;

test('embedded topology: created as planned, the wire carries traffic, teardown removes everything', { skip: !isRoot() && 'needs root' }, async () => {
  const ledger = Ledger.create(shortId());
  const id = ledger.runId;
  const topo = await topologyProvider({ kind: 'embedded' }).create(ledger);
  try {
    assert.equal(topo.id, id, 'the run id is the ledger id, so cleanup --run finds it');
    const namespaces = await output(['ip', 'netns', 'list']);
    assert.match(namespaces, new RegExp(`vnb-${id}-g`));
    assert.match(namespaces, new RegExp(`vnb-${id}-p`));
    // The wire and the peer end exist only inside their namespaces.
    assert.notEqual((await exec(['ip', 'link', 'show', 'dev', topo.wire], { nothrow: true })).code, 0);
    const wire = await linkJson(topo.guestNs!, topo.wire);
    const peer = await linkJson(topo.peerNs!, topo.peerIf!);
    assert.ok(wire.flags.includes('UP'));
    assert.deepEqual(wire.addr_info, [], 'the guest side carries no host address');
    assert.deepEqual(peer.addr_info.map((a) => `${a.family} ${a.local}/${a.prefixlen}`), ['inet 198.18.0.1/24']);
    assert.equal(peer.address, `02:${id.slice(0, 2)}:${id.slice(2, 4)}:${id.slice(4)}:00:01`);
    assert.equal(await output(topo.inPeerNs(['sysctl', '-n', 'net.ipv6.conf.all.disable_ipv6'])), '1');
    // Stand in for the guest: its address on the wire end, then ping the peer across the veth.
    await exec(['ip', '-n', topo.guestNs!, 'addr', 'add', `${topo.guestIp}/${topo.prefixLen}`, 'dev', topo.wire]);
    const ping = await exec(topo.inGuestNs(pingArgv(topo.peerIp)), { nothrow: true });
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    assert.match(ping.stdout, /3 packets received/);
  } finally {
    assert.deepEqual(await ledger.teardown(), []);
  }
  assert.deepEqual(await settle(id), []);
  assert.equal(fs.existsSync(ledger.file), false);
});
