#!/usr/bin/env python3
"""Small helper for ci/fidelity.sh, written independently of the harness's TypeScript.

  fidelity-helper.py serve DIR
      Listens on DIR/qmp.sock and DIR/agent.sock (QEMU connects to both, as with the harness's
      -chardev socket,path=...), prints "LISTENING", accepts QEMU's two connections, waits for
      the guest agent's READY frame and prints "READY <nic> <cidr> <uptime>" (or "FAIL <why>").
      Then serves requests read from stdin, one per line, answering one line each:
          EXEC <timeout-s> <json argv>   ->  R <code> <base64 stdout|-> <base64 stderr|->
          QUIT                           ->  BYE   (QMP quit; QEMU exits)
      Exits when stdin closes or QEMU goes away.

  fidelity-helper.py cells RUN_DIR
      One line per benchmark cell summary in RUN_DIR/results.jsonl:
          <backend> <workload> <size> <offloads> <throughput_bps mean> <n>
      plus "ITER <backend> <workload> <size> <iteration> <throughput_bps>" per iteration and
      "ERROR <backend> <workload> <message>" per error record.

  fidelity-helper.py argv-diff RUN_DIR BACKEND OUR_ARGV_FILE
      Compares the QEMU command line the harness recorded (manifest.json commandLines[BACKEND])
      with ours (one argument per line), after replacing run-specific values (names, socket and
      log paths, MACs, tap names, namespaces) with placeholders. Prints "identical" or the
      differing arguments.

The agent wire format (harness/guest/protocol.ts, guest half harness/guest/rootfs/agent.sh):
  host -> guest   VNB1 <id> <op> <arg>... END      args as $'...' words, unsafe bytes as \\xHH
  guest -> host   VNB1 R <id> <code> <stdout> <stderr> END   (fields base64, "-" = empty)
                  VNB1 READY <nic> <cidr> <uptime> END
                  VNB1 FAIL <message> END
"""
import base64
import json
import os
import re
import select
import signal
import socket
import sys
import time

MAGIC = 'VNB1'
SAFE = set(b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/=:,+@%^-')


def out(line):
    sys.stdout.write(line + '\n')
    sys.stdout.flush()


def shell_field(s):
    b = s.encode()
    if b'\0' in b:
        raise ValueError('argument contains NUL')
    return "$'" + ''.join(chr(c) if c in SAFE else '\\x%02x' % c for c in b) + "'"


def dec(f):
    return '' if f == '-' else base64.b64decode(f).decode('utf-8', 'replace')


class Agent:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b''
        self.next_id = 1

    def frames(self, timeout):
        """Yield frames (lists of fields) arriving within `timeout` seconds; raise EOFError on close."""
        deadline = time.monotonic() + timeout
        while True:
            while b'\n' in self.buf:
                line, self.buf = self.buf.split(b'\n', 1)
                f = line.decode('latin1').rstrip('\r').split(' ')
                if len(f) >= 3 and f[0] == MAGIC and f[-1] == 'END':
                    yield f
            left = deadline - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([self.sock], [], [], left)
            if r:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError('agent channel closed (QEMU exited?)')
                self.buf += chunk

    def wait_ready(self, timeout):
        for f in self.frames(timeout):
            if f[1] == 'READY' and len(f) == 6:
                return 'READY %s %s %s' % (dec(f[2]), dec(f[3]), dec(f[4]))
            if f[1] == 'FAIL' and len(f) == 4:
                return 'FAIL ' + dec(f[2]).replace('\n', ' ')
        return 'FAIL no READY from the guest agent within %d s' % timeout

    def exec(self, argv, timeout):
        rid = self.next_id
        self.next_id += 1
        req = ' '.join([MAGIC, str(rid), 'exec'] + [shell_field(a) for a in argv] + ['END']) + '\n'
        self.sock.sendall(req.encode())
        for f in self.frames(timeout):
            if f[1] == 'R' and len(f) == 7 and f[2] == str(rid):
                return 'R %s %s %s' % (f[3], f[4], f[5])
        # Stop it in the guest too (the agent's cancel kills the exec's pid).
        cid = self.next_id
        self.next_id += 1
        self.sock.sendall(('%s %d cancel %s END\n' % (MAGIC, cid, shell_field(str(rid)))).encode())
        return 'R 124 - %s' % base64.b64encode(b'fidelity-helper: timed out after %d s' % timeout).decode()


def accept_one(path, srv_timeout):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(srv_timeout)
    return srv


def serve(d):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the script's trap decides; stdin EOF ends us
    qmp_path, agent_path = os.path.join(d, 'qmp.sock'), os.path.join(d, 'agent.sock')
    qsrv, asrv = accept_one(qmp_path, 60), accept_one(agent_path, 60)
    out('LISTENING')
    try:
        qmp, _ = qsrv.accept()
        ag, _ = asrv.accept()
    except socket.timeout:
        out('FAIL QEMU did not connect to the QMP/agent sockets within 60 s')
        return 1
    finally:
        qsrv.close()
        asrv.close()
        for p in (qmp_path, agent_path):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass
    qmp.setblocking(True)
    qmp.sendall(b'{"execute":"qmp_capabilities"}\n')
    agent = Agent(ag)
    try:
        ready = agent.wait_ready(180)
    except EOFError as e:
        ready = 'FAIL ' + str(e)
    out(ready)
    if not ready.startswith('READY'):
        return 1
    for line in sys.stdin:
        words = line.strip().split(' ', 2)
        if not words or not words[0]:
            continue
        if words[0] == 'QUIT':
            try:
                qmp.sendall(b'{"execute":"quit"}\n')
            except OSError:
                pass
            out('BYE')
            return 0
        if words[0] == 'EXEC' and len(words) == 3:
            try:
                out(agent.exec(json.loads(words[2]), int(words[1])))
            except EOFError as e:
                out('R 255 - %s' % base64.b64encode(str(e).encode()).decode())
                return 1
            continue
        out('R 254 - %s' % base64.b64encode(b'fidelity-helper: bad request').decode())
    return 0


def cells(run_dir):
    with open(os.path.join(run_dir, 'results.jsonl')) as fh:
        for line in fh:
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if r.get('type') == 'cell':
                c, s = r['cell'], r.get('summary', {}).get('throughput_bps')
                if s:
                    out('%s %s %s %s %.9g %d' % (c['backend'], c['workload'], c['size'], c['offloads'], s['mean'], s['n']))
            elif r.get('type') == 'iteration' and 'throughput_bps' in r.get('metrics', {}):
                c = r['cell']
                out('ITER %s %s %s %s %.9g' % (c['backend'], c['workload'], c['size'], r.get('iteration'), r['metrics']['throughput_bps']))
            elif r.get('type') == 'error':
                out('ERROR %s %s %s' % (r.get('backend'), r.get('workload'), str(r.get('message', '')).split('\n')[0]))
    return 0


def normalise(argv):
    """Run-specific values -> placeholders, so two command lines compare by what matters."""
    rules = [
        (r'^vnb-[0-9a-f]{6}-[gp]$|^vnbfid-\d+-[gp]$', '<netns>'),
        (r'^(vnb-[0-9a-f]{6}|vnbfid-\d+)-([a-z-]+?)(-\d+)?,debug-threads=on$', r'<name>-\2,debug-threads=on'),
        (r'path=[^,]*/qmp\.sock', 'path=<qmp.sock>'),
        (r'path=[^,]*/agent\.sock', 'path=<agent.sock>'),
        (r'^file:.*\.console\.log$', 'file:<console.log>'),
        (r"([=:])[0-9a-f]{2}(:[0-9a-f]{2}){5}", r"\1<mac>"),
        (r'ifname=(vnb[0-9a-f]{6}|vnbfid\d+)t0', 'ifname=<tap>'),
    ]
    res = []
    for a in argv:
        for pat, rep in rules:
            a = re.sub(pat, rep, a)
        res.append(a)
    return res


def argv_diff(run_dir, backend, ours_file):
    with open(os.path.join(run_dir, 'manifest.json')) as fh:
        theirs = json.load(fh).get('commandLines', {}).get(backend)
    if not theirs:
        out('no command line recorded for %s' % backend)
        return 0
    if not os.path.exists(ours_file):
        out('no hand-made command line (%s)' % ours_file)
        return 0
    with open(ours_file) as fh:
        ours = [l.rstrip('\n') for l in fh]
    a, b = normalise(theirs), normalise(ours)
    if a == b:
        out('identical (%d arguments, after normalising names, paths, MACs, tap name)' % len(a))
        return 0
    import difflib
    out('DIFFERENT (lines: - harness, + hand-made):')
    for l in difflib.unified_diff(a, b, 'harness', 'hand-made', n=1, lineterm=''):
        out('    ' + l)
    return 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == 'serve':
        return serve(sys.argv[2])
    if len(sys.argv) == 3 and sys.argv[1] == 'cells':
        return cells(sys.argv[2])
    if len(sys.argv) == 5 and sys.argv[1] == 'argv-diff':
        return argv_diff(*sys.argv[2:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main())
