// Version lines of the tools vnetbench runs, as each prints it. Each parser returns undefined
// when the text does not look like that tool's output, so a wrong binary is not mistaken for it.

/** `netperf -V` / `netserver -V`: "Netperf version 2.7.0". */
export function parseNetperfVersion(text: string): string | undefined {
  return /^Netperf version (\d+\.\d+\.\d+)/m.exec(text)?.[1];
}

/** `iperf3 --version`: "iperf 3.12 (cJSON 1.7.15)". */
export function parseIperf3Version(text: string): string | undefined {
  return /^iperf (\d+\.\d+(?:\.\d+)?)/m.exec(text)?.[1];
}

/** `sockperf --version`: "sockperf, version 3.7-no.git". */
export function parseSockperfVersion(text: string): string | undefined {
  return /^sockperf, version (\d+\.\d+(?:\.\d+)?)/m.exec(text)?.[1];
}

/** `dpdk-testpmd -v -h`: EAL prints "EAL: RTE Version: 'DPDK 22.11.11'" before the usage text. */
export function parseTestpmdVersion(text: string): string | undefined {
  return /RTE Version: 'DPDK (\d+\.\d+(?:\.\d+)?)'/.exec(text)?.[1];
}

/** `qemu-system-x86_64 --version`: "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)". */
export function parseQemuVersion(text: string): { version: string; package?: string } | undefined {
  const m = /^QEMU emulator version (\d+\.\d+\.\d+)(?: \(([^)]*)\))?/m.exec(text);
  return m ? { version: m[1], ...(m[2] ? { package: m[2] } : {}) } : undefined;
}
