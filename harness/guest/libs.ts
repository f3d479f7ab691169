// Shared libraries the guest's programs need, found with ldd(1) on the build host. Libraries
// from the fetched packages (libiperf0) are found through LD_LIBRARY_PATH; the rest come from the
// host, which is the same Debian release. Each is copied under the name the program asks for.
import fs from 'node:fs';
import path from 'node:path';
import { exec } from '../core/exec.ts';
import type { CpioEntry } from './cpio.ts';

export interface Library {
  /** The path the dynamic loader will look for in the guest. */
  guestPath: string;
  /** The file on the host (symlinks resolved). */
  hostPath: string;
}

export interface LddLine {
  soname: string;
  path?: string; // undefined: "not found"
}

/** Parse ldd output. The vDSO has no file; the loader line has a path but no "=>". */
export function parseLdd(text: string): { libs: LddLine[]; interpreter?: string; static: boolean } {
  const libs: LddLine[] = [];
  let interpreter: string | undefined;
  let isStatic = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (/not a dynamic executable|statically linked/.test(line)) {
      isStatic = true;
      continue;
    }
    let m = /^(\S+) => not found$/.exec(line);
    if (m) {
      libs.push({ soname: m[1] });
      continue;
    }
    m = /^(\S+) => (\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    if (m) {
      libs.push({ soname: m[1], path: m[2] });
      continue;
    }
    m = /^(\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    if (m) interpreter = m[1];
  }
  return { libs, interpreter, static: isStatic };
}

const GUEST_LIBDIR = 'lib/x86_64-linux-gnu';

export async function lddLibraries(programs: string[], libDirs: string[]): Promise<Library[]> {
  const out = new Map<string, Library>();
  for (const prog of programs) {
    const r = await exec(['ldd', prog], {
      nothrow: true,
      env: { LD_LIBRARY_PATH: libDirs.filter((d) => fs.existsSync(d)).join(':') },
    });
    const parsed = parseLdd(r.stdout + r.stderr);
    if (parsed.static) continue;
    if (r.code !== 0) throw new Error(`ldd ${prog} failed (exit ${r.code}): ${r.stderr.trim()}`);
    const missing = parsed.libs.filter((l) => !l.path).map((l) => l.soname);
    if (missing.length) {
      throw new Error(
        `${path.basename(prog)} needs ${missing.join(', ')}, not found on this host; ` +
          `install the Debian package that ships it (apt-file search ${missing[0]})`,
      );
    }
    for (const l of parsed.libs) {
      const guestPath = `${GUEST_LIBDIR}/${l.soname}`;
      out.set(guestPath, { guestPath, hostPath: fs.realpathSync(l.path!) });
    }
    if (parsed.interpreter) {
      const guestPath = parsed.interpreter.replace(/^\//, '');
      out.set(guestPath, { guestPath, hostPath: fs.realpathSync(parsed.interpreter) });
    }
  }
  return [...out.values()].sort((a, b) => (a.guestPath < b.guestPath ? -1 : 1));
}

export function libraryEntries(libs: Library[]): CpioEntry[] {
  return libs.map((l) => ({ kind: 'file', path: l.guestPath, data: fs.readFileSync(l.hostPath), mode: 0o755 }));
}
