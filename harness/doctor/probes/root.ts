// Root: vnetbench creates namespaces, links and device nodes, which needs uid 0 with
// CAP_NET_ADMIN and CAP_SYS_ADMIN in its effective set (a root inside a restricted container may
// lack them).
import fs from 'node:fs';
import { hasCap, parseCapEff, type CapName } from '../parsers/procstatus.ts';
import type { Evidence } from '../capabilities.ts';

const NEEDED: CapName[] = ['CAP_NET_ADMIN', 'CAP_SYS_ADMIN'];

export function probeRoot(status = fs.readFileSync('/proc/self/status', 'utf8'), uid = process.getuid?.() ?? -1): Evidence {
  const cap = parseCapEff(status);
  if (cap === undefined) return { ok: false, evidence: `uid ${uid}; no CapEff line in /proc/self/status` };
  const capText = `CapEff ${cap.toString(16).padStart(16, '0')}`;
  const missing = NEEDED.filter((c) => !hasCap(cap, c));
  if (uid !== 0) return { ok: false, evidence: `running as uid ${uid}, not root (${capText})` };
  if (missing.length) return { ok: false, evidence: `uid 0 but ${capText} lacks ${missing.join(', ')}` };
  return { ok: true, evidence: `uid 0, ${capText} includes ${NEEDED.join(', ')}` };
}
