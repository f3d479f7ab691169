// Number and unit presentation shared by every human-facing format (HTML, terminal table).
// Machine formats (JSON, CSV) keep raw numbers in the catalogue's base units.
import { errorHeadline } from '../harness/results/display.ts';
import { metricInfo } from '../harness/results/metrics.ts';
import type { CellKey } from '../harness/results/types.ts';

/** A display scale: divide raw values by `factor` and label them with `unit`. */
export interface Scale {
  factor: number;
  unit: string;
}

const PREFIXES: [number, string][] = [
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];

/** Pick a scale so the largest value reads naturally (2.39 Gbit/s, not 2390000000 bit/s). */
export function scaleFor(unit: string, values: readonly number[]): Scale {
  const max = Math.max(0, ...values.filter(Number.isFinite).map(Math.abs));
  if (/^us\b/.test(unit)) return { factor: 1, unit: unit.replace(/^us/, 'µs') };
  const bits = /^bit\/s(.*)$/.exec(unit);
  if (bits) {
    for (const [f, p] of PREFIXES) if (max >= f) return { factor: f, unit: `${p}bit/s${bits[1]}` };
    return { factor: 1, unit };
  }
  if (unit === 'pkt/s' || unit === 'trans/s') {
    for (const [f, p] of PREFIXES) if (max >= f * 10) return { factor: f, unit: `${p} ${unit}` };
  }
  return { factor: 1, unit };
}

export function metricScale(metric: string, values: readonly number[]): Scale {
  return scaleFor(metricInfo(metric)?.unit ?? '', values);
}

const big = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const small = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3 });
const two = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 2 });

/** An uncertainty (interval half-width): two significant digits are all it carries. */
export function unc(v: number): string {
  if (!Number.isFinite(v)) return '–';
  return Math.abs(v) >= 100 ? big.format(v) : two.format(v);
}

/** At most 3 significant digits below 1000, whole numbers with separators above. */
export function num(v: number | undefined | null): string {
  if (v === undefined || v === null || Number.isNaN(v)) return '–';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (v === 0) return '0';
  return Math.abs(v) >= 1000 ? big.format(v) : small.format(v);
}

export function pct(v: number | undefined, signed = true): string {
  if (v === undefined || Number.isNaN(v)) return '–';
  if (!Number.isFinite(v)) return v > 0 ? '+∞ %' : '−∞ %';
  const s = Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
  return `${signed && v > 0 ? '+' : ''}${s} %`;
}

/** p-values: three significant digits, and "<0.001" rather than a long exponent. */
export function pValue(p: number | undefined): string {
  if (p === undefined || Number.isNaN(p)) return '–';
  if (p < 0.001) return '<0.001';
  return p.toFixed(3);
}

/** "p=0.012" or "p<0.001". */
export function pEq(p: number | undefined): string {
  const v = pValue(p);
  return v.startsWith('<') ? `p${v}` : `p=${v}`;
}

export function sizeLabel(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / 1024 / 1024} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/** What distinguishes cells beyond backend, workload and size; empty for the defaults. */
export function variantLabel(k: CellKey): string {
  const parts: string[] = [];
  if (k.offloads === 'off') parts.push('offloads off');
  if (k.streams !== 1) parts.push(`${k.streams} streams`);
  if (k.queues !== 1) parts.push(`${k.queues} queues`);
  return parts.join(', ');
}

/** "copy", or "copy (offloads off, 4 queues)", plus the engine when it is not netperf. */
export function seriesLabel(k: CellKey): string {
  const v = [variantLabel(k), k.engine !== 'netperf' ? k.engine : ''].filter(Boolean).join(', ');
  return v ? `${k.backend} (${v})` : k.backend;
}

/** UDP_STREAM's two cells: "guest→peer", "peer→guest". */
export function directionLabel(d: CellKey['direction']): string {
  return d ? d.replace('-to-', '→') : '';
}

/** "TCP_STREAM", or "UDP_STREAM peer→guest": what a chart or table row of one workload covers. */
export function workloadLabel(k: Pick<CellKey, 'workload' | 'direction'>): string {
  return k.direction ? `${k.workload} ${directionLabel(k.direction)}` : k.workload;
}

/** One cell among a workload's: "copy · 64 B", "copy · 64 B · peer→guest" (unique within a workload). */
export function cellLabel(k: CellKey): string {
  return `${seriesLabel(k)} · ${sizeLabel(k.size)}${k.direction ? ` · ${directionLabel(k.direction)}` : ''}`;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function esc(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** JSON safe to embed in a <script> element (no "</script>" or "<!--" can close it early). */
export function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * An error message (after `prefixHtml`, e.g. its scope): a short one inline; a long or multi-line
 * one as its first line, cut, with the full text one click away. Either wraps anywhere, so an
 * unbroken 400-character netperf selector list cannot widen the page.
 */
export function errorHtml(message: string, prefixHtml = '', max = 160): string {
  const head = errorHeadline(message, max);
  if (head === message) return `<span class="errtext">${prefixHtml}${esc(message)}</span>`;
  return `<details class="errtext"><summary>${prefixHtml}${esc(head)}</summary><pre>${esc(message)}</pre></details>`;
}

export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
