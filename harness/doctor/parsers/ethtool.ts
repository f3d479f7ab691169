// ethtool's text reports. Field names are ethtool's own; values ethtool shows as "n/a" or
// "Unknown!" come back as undefined so a report never invents a number.

/** `ethtool -i DEV`: "key: value" lines (driver, version, firmware-version, bus-info, ...). */
export function parseDriverInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z-]+):\s?(.*)$/.exec(line);
    if (m) out[m[1]] = m[2].trim();
  }
  return out;
}

export interface LinkSettings {
  /** Mbit/s, undefined when ethtool says "Unknown!". */
  speedMbps?: number;
  duplex?: string;
  linkDetected?: boolean;
  port?: string;
}

/** `ethtool DEV`. */
export function parseLinkSettings(text: string): LinkSettings {
  const field = (name: string) => new RegExp(`^\\s*${name}:\\s*(.*)$`, 'm').exec(text)?.[1].trim();
  const speed = field('Speed');
  const m = speed ? /^(\d+)Mb\/s$/.exec(speed) : null;
  const duplex = field('Duplex');
  const link = field('Link detected');
  return {
    ...(m ? { speedMbps: Number(m[1]) } : {}),
    ...(duplex && !duplex.startsWith('Unknown') ? { duplex } : {}),
    ...(link ? { linkDetected: link === 'yes' } : {}),
    ...(field('Port') ? { port: field('Port') } : {}),
  };
}

export interface ChannelCounts {
  rx?: number;
  tx?: number;
  other?: number;
  combined?: number;
}

export interface Channels {
  max: ChannelCounts;
  current: ChannelCounts;
}

/** `ethtool -l DEV`: "Pre-set maximums:" and "Current hardware settings:" blocks. */
export function parseChannels(text: string): Channels | undefined {
  const maxAt = text.indexOf('Pre-set maximums:');
  const curAt = text.indexOf('Current hardware settings:');
  if (maxAt < 0 || curAt < 0) return undefined;
  const block = (s: string): ChannelCounts => {
    const out: ChannelCounts = {};
    for (const [label, key] of [['RX', 'rx'], ['TX', 'tx'], ['Other', 'other'], ['Combined', 'combined']] as const) {
      const v = new RegExp(`^${label}:\\s*(\\S+)`, 'm').exec(s)?.[1];
      if (v && /^\d+$/.test(v)) out[key] = Number(v);
    }
    return out;
  };
  return { max: block(text.slice(maxAt, curAt)), current: block(text.slice(curAt)) };
}

export interface Offload {
  on: boolean;
  /** "[fixed]": the driver does not let it change. */
  fixed: boolean;
}

/** `ethtool -k DEV`: "name: on|off [fixed]" lines, sub-features included. */
export function parseFeatures(text: string): Record<string, Offload> {
  const out: Record<string, Offload> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z0-9_-]+):\s+(on|off)(\s+\[(fixed|requested on|requested off)\])?/.exec(line);
    if (m) out[m[1]] = { on: m[2] === 'on', fixed: m[4] === 'fixed' };
  }
  return out;
}
