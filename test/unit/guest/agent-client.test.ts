// The host half of the agent over a real unix socket. The test plays the guest by writing frames
// in the wire format (protocol.ts); the real guest agent is exercised by the integration tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AgentClient, AgentError } from '../../../harness/guest/agent.ts';
import { TimeoutError } from '../../../harness/core/errors.ts';

const b64 = (s: string) => (s ? Buffer.from(s).toString('base64') : '-');
/** A $'...' request word back to its string (what the guest's eval does). */
const unword = (w: string) => {
  const m = /^\$'(.*)'$/.exec(w);
  assert.ok(m, `request word ${w}`);
  return Buffer.from(m[1].replace(/\\x([0-9a-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
};

interface Request {
  id: number;
  op: string;
  args: string[];
}

async function pair(t: { after: (fn: () => void) => void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vnb-agent-test-'));
  const sock = path.join(dir, 's');
  const server = net.createServer();
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  await new Promise<void>((r) => server.listen(sock, r));
  const host = net.connect(sock);
  const guest = await accepted;
  const requests: Request[] = [];
  let buf = '';
  const waiters: (() => void)[] = [];
  guest.on('data', (d) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const f = buf.slice(0, nl).split(' ');
      buf = buf.slice(nl + 1);
      requests.push({ id: Number(f[1]), op: f[2], args: f.slice(3, -1).map(unword) });
      waiters.splice(0).forEach((w) => w());
    }
  });
  const nextRequest = async (n: number) => {
    while (requests.length < n) await new Promise<void>((r) => waiters.push(r));
    return requests[n - 1];
  };
  const agent = new AgentClient(host, { context: () => 'console: (test)' });
  t.after(() => {
    agent.close();
    guest.destroy();
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { agent, guest, nextRequest, requests };
}

test('READY resolves waitReady; replies in any order reach their callers', async (t) => {
  const { agent, guest, nextRequest } = await pair(t);
  guest.write('boot noise\n');
  guest.write(`VNB1 READY ${b64('eth0')} ${b64('198.18.0.2/24')} ${b64('1.93')} END\n`);
  assert.deepEqual(await agent.waitReady(5000), { nic: 'eth0', cidr: '198.18.0.2/24', uptimeS: 1.93 });

  const a = agent.exec(['uname', '-r']);
  const b = agent.readFile('/proc/stat');
  const ra = await nextRequest(1);
  const rb = await nextRequest(2);
  assert.deepEqual([ra.op, ra.args], ['exec', ['uname', '-r']]);
  assert.deepEqual([rb.op, rb.args], ['read', ['/proc/stat']]);
  guest.write(`VNB1 R ${rb.id} 0 ${b64('cpu  1 2 3\n')} - END\n`);
  guest.write(`VNB1 R ${ra.id} 0 ${b64('6.1.0\n')} - END\n`);
  assert.equal(await b, 'cpu  1 2 3\n');
  assert.deepEqual(await a, { code: 0, stdout: '6.1.0\n', stderr: '' });
});

test('spawn returns the guest pid; a failed read is an error with the guest message', async (t) => {
  const { agent, guest, nextRequest } = await pair(t);
  const p = agent.spawn(['netserver', '-D']);
  guest.write(`VNB1 R ${(await nextRequest(1)).id} 0 ${b64('173\n')} - END\n`);
  assert.equal(await p, 173);
  const r = agent.readFile('/nonexistent');
  guest.write(`VNB1 R ${(await nextRequest(2)).id} 1 - ${b64("base64: can't open '/nonexistent'\n")} END\n`);
  await assert.rejects(r, (e: unknown) => e instanceof AgentError && /exit 1.*can't open/.test(e.message));
});

test('a command that does not answer in time is a TimeoutError, and the guest is told to cancel it', async (t) => {
  const { agent, nextRequest } = await pair(t);
  await assert.rejects(agent.exec(['sleep', '100'], { timeoutMs: 200 }), (e: unknown) => e instanceof TimeoutError && /guest command \["sleep","100"\]/.test(e.message));
  const cancel = await nextRequest(2);
  assert.equal(cancel.op, 'cancel');
  assert.deepEqual(cancel.args, [String((await nextRequest(1)).id)]);
});

test('no READY in time: TimeoutError with the console context', async (t) => {
  const { agent } = await pair(t);
  await assert.rejects(agent.waitReady(150), (e: unknown) => e instanceof TimeoutError && /READY.*console: \(test\)/s.test(e.message));
});

test('FAIL from the guest rejects waitReady with the guest\'s reason', async (t) => {
  const { agent, guest } = await pair(t);
  const w = agent.waitReady(5000);
  guest.write(`VNB1 FAIL ${b64('no vnb.ip=ADDR/LEN on the kernel command line')} END\n`);
  await assert.rejects(w, /guest bring-up failed: no vnb\.ip=/);
  await assert.rejects(agent.waitReady(5000), /bring-up failed/);
});

test('when the channel dies, pending and later calls fail at once with the reason', async (t) => {
  const { agent, guest, nextRequest } = await pair(t);
  const pending = agent.exec(['sleep', '100'], { timeoutMs: 60_000 });
  await nextRequest(1);
  agent.fail(new Error('QEMU (pid 1234) killed by SIGKILL\nconsole: [panic]'));
  await assert.rejects(pending, (e: unknown) => e instanceof AgentError && /killed by SIGKILL/.test(e.message));
  await assert.rejects(agent.exec(['true']), /killed by SIGKILL/);
  guest.destroy();
});

test('a closed socket fails pending calls without waiting for their timeout', async (t) => {
  const { agent, guest, nextRequest } = await pair(t);
  const pending = agent.exec(['sleep', '100'], { timeoutMs: 60_000 });
  await nextRequest(1);
  guest.destroy();
  await assert.rejects(pending, (e: unknown) => e instanceof AgentError && /agent channel closed/.test(e.message));
});
