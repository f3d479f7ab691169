// HTML export: one self-contained file a performance engineer can attach to an email.
// Sections: summary, run manifest, capabilities (what ran, what was skipped and why),
// throughput vs message size, CPU by thread class + guest CPU + service demand, RR latency
// percentiles, throughput per host core, conformance matrix, every number in an appendix.
import { formatArgv } from '../harness/core/exec.ts';
import { lossText, totalLoss } from '../harness/results/display.ts';
import { metricInfo, type MetricName } from '../harness/results/metrics.ts';
import { countsText, type CellStatus } from '../harness/results/outcomes.ts';
import type { RunManifest } from '../harness/results/types.ts';
import { allCharts, OUTCOME_COLORS, reportCharts, type ChartSpec } from './charts.ts';
import { cellLabel, duration, errorHtml, esc, metricScale, num, seriesLabel, sizeLabel, unc, workloadLabel, type Scale } from './format.ts';
import { scopeLabel, scopeWorkload, type CellReport, type ErrorEntry, type ReportDoc } from './model.ts';
import { chartBlock, page } from './page.ts';

function kv(rows: [string, string][]): string {
  return `<table class="kv"><tbody>${rows.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${v}</td></tr>`).join('')}</tbody></table>`;
}

const pill = (cls: string, text: string) => `<span class="pill ${esc(cls)}">${esc(text)}</span>`;

/** The run's status badge: complete-with-errors has its own colour, never complete's green. */
const statusPill = (status: RunManifest['status']) => pill(status, status === 'complete-with-errors' ? 'complete, with errors' : status);

/** Each (scope, message) once: a backend error can repeat for every cell it stopped. */
function errorItems(errors: readonly ErrorEntry[]): string {
  const seen = new Set<string>();
  return errors
    .filter((e) => {
      const k = `${scopeLabel(e)}\n${e.message}`;
      return !seen.has(k) && seen.add(k);
    })
    .map((e) => `<li>${errorHtml(e.message, `${esc(scopeLabel(e))}: `)}</li>`)
    .join('');
}

function fact(k: string, v: string, small = ''): string {
  return `<div class="fact"><div class="k">${esc(k)}</div><div class="v">${esc(v)}${small ? ` <small>${esc(small)}</small>` : ''}</div></div>`;
}

function runDuration(doc: ReportDoc): string {
  const { createdAt, finishedAt } = doc.manifest;
  return finishedAt ? duration(Date.parse(finishedAt) - Date.parse(createdAt)) : 'not finished';
}

/** "1 errored · 8 skipped " (what kept cells from being measured), or "". */
function notMeasured(c: ReportDoc['counts']): string {
  const parts = (['errored', 'skipped', 'unfinished'] as const).filter((k) => c[k]).map((k) => `${c[k]} ${k}`);
  return parts.length ? `${parts.join(' · ')} ` : '';
}

function summarySection(doc: ReportDoc): string {
  const m = doc.manifest;
  const iterations = doc.cells.reduce((a, c) => a + c.iterations.length, 0);
  const conf = doc.conformance.results;
  const tally = (o: string) => conf.filter((r) => r.outcome === o).length;
  const facts = [
    fact('Status', doc.status, m.kind),
    fact('Started', m.createdAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC'), runDuration(doc)),
    fact('Host', m.host.hostname, `${m.host.cpus} CPUs, ${Math.round(m.host.memMiB / 1024)} GiB`),
    fact('Host kernel', m.host.kernel),
    ...Object.entries(m.versions).slice(0, 4).map(([k, v]) => fact(k, v)),
    ...(m.accel ? [fact('Accelerator', m.accel.toUpperCase(), m.accel === 'tcg' ? 'emulated: compare relatively' : '')] : []),
    ...(doc.counts.total ? [fact('Benchmark cells', `${doc.counts.measured} measured`, `${notMeasured(doc.counts)}of ${doc.counts.total}; ${iterations} iterations`)] : []),
    ...(conf.length ? [fact('Conformance', `${tally('pass')} pass · ${tally('fail')} fail`, `${tally('warn')} warn · ${tally('skip')} skip`)] : []),
  ];
  const callouts: string[] = [];
  if (doc.counts.total) callouts.push(`<p class="counts" id="cell-counts">Cells: ${esc(countsText(doc.counts))}.</p>`);
  const failed = doc.errors.filter((e) => e.effect !== 'recovered');
  if (failed.length) {
    const stopped = doc.counts.errored ? ` (${doc.counts.errored} cell(s) errored: no numbers shown for them)` : '';
    callouts.push(`<div class="callout bad"><strong>${failed.length} error(s) during the run</strong>${esc(stopped)}<ul>${errorItems(failed)}</ul></div>`);
  }
  const recovered = doc.errors.filter((e) => e.effect === 'recovered');
  if (recovered.length) {
    callouts.push(`<div class="callout"><strong>Retried and recovered</strong> (the cell was measured on a retry; not a failure)<ul>${errorItems(recovered)}</ul></div>`);
  }
  if (doc.counts.unfinished) {
    callouts.push(`<div class="callout"><strong>${doc.counts.unfinished} cell(s) unfinished</strong>: the run (${esc(doc.status)}) stopped before they had a summary. <code>vnetbench run --resume --out RUN_DIR</code> measures them.</div>`);
  }
  const notReached = doc.cells.filter((c) => c.confidence && !c.confidence.reached);
  const warned = doc.cells.filter((c) => c.warnings.length);
  if (notReached.length || warned.length) {
    const items = [
      ...notReached.map((c) => `<li>${esc(c.id)}: confidence target ±${c.confidence!.widthPct} % at ${c.confidence!.level * 100} % not reached after ${c.confidence!.iterations} iterations</li>`),
      ...warned.flatMap((c) => c.warnings.map((w) => `<li>${esc(c.id)}: ${esc(w)}</li>`)),
    ];
    callouts.push(`<div class="callout"><strong>Warnings</strong><ul>${items.join('')}</ul></div>`);
  }
  if (doc.skips.length) {
    callouts.push(
      `<div class="callout"><strong>Skipped</strong> (not run on this host, never counted as passed)<ul>${doc.skips
        .map((s) => `<li>${errorHtml(s.reason, `${esc(scopeLabel(s))}: `)}</li>`)
        .join('')}</ul></div>`,
    );
  }
  const single = doc.cells.filter((c) => c.iterations.length < 2);
  if (single.length) {
    callouts.push(
      `<div class="callout"><strong>${single.length} cell(s) with a single iteration</strong>: no confidence interval, and <code>vnetbench compare</code> will call them insufficient data. Run with <code>--iterations 3</code> or more.</div>`,
    );
  }
  if (m.accel === 'tcg' && doc.cells.length) {
    callouts.push(
      '<div class="callout">Guests ran under TCG (emulated CPU): the guest vCPU is the bottleneck, so compare backends with each other within this run; absolute numbers do not transfer to KVM hosts.</div>',
    );
  }
  return `<section id="summary"><div class="facts">${facts.join('')}</div>${callouts.join('')}</section>`;
}

function glanceValue(c: CellReport | undefined, metric: MetricName, scale: Scale): string {
  const s = c?.summary[metric];
  if (!c || !s) return '<td class="num missing">–</td>';
  const ci = s.n > 1 ? ` <span class="ci">± ${unc((s.ciHigh - s.ciLow) / 2 / scale.factor)}</span>` : '';
  // A throughput of 0 at 100 % loss means nothing arrived: say so beside the number.
  const loss = metric === 'throughput_bps' ? lossText(c.summary.loss_pct) : undefined;
  const lossNote = loss ? ` <span class="loss${totalLoss(c.summary.loss_pct) ? ' total' : ''}">(${esc(loss)})</span>` : '';
  return `<td class="num" data-cell="${esc(c.id)}" data-metric="${metric}" data-value="${s.mean}" data-scale="${scale.factor}">${num(s.mean / scale.factor)}${ci}${lossNote}</td>`;
}

/** Rate and host CPU of one cell, or what stopped it (an errored cell shows no numbers). */
function glancePair(o: CellStatus | undefined, c: CellReport | undefined, rate: MetricName, scale: Scale): string {
  if (o?.outcome === 'errored') return `<td class="num err" colspan="2" data-outcome="errored">${pill('fail', 'error')}</td>`;
  if (o?.outcome === 'skipped') return `<td class="num missing" colspan="2" data-outcome="skipped" title="${esc(o.reason)}">skipped</td>`;
  return glanceValue(c, rate, scale) + glanceValue(c, 'host_cpu_total_pct', { factor: 1, unit: '%' });
}

/** The classic comparison table: per workload (and direction) and size, each backend's rate and host CPU. */
function glanceSection(doc: ReportDoc): string {
  const shown = doc.outcomes.filter((o) => o.outcome === 'measured' || o.outcome === 'errored');
  if (!shown.length) return '';
  const series = [...new Set(shown.map((o) => seriesLabel(o.key)))];
  const rows: string[] = [];
  for (const g of [...new Set(shown.map((o) => workloadLabel(o.key)))]) {
    const outcomes = doc.outcomes.filter((o) => workloadLabel(o.key) === g);
    const cells = doc.cells.filter((c) => workloadLabel(c.key) === g);
    const rate: MetricName = /_(RR|CRR)$/.test(outcomes[0].key.workload) ? 'transactions_per_s' : 'throughput_bps';
    const scale = metricScale(rate, cells.map((c) => c.summary[rate]?.mean ?? 0));
    const sizes = [...new Set(shown.filter((o) => workloadLabel(o.key) === g).map((o) => o.key.size))].sort((a, b) => a - b);
    sizes.forEach((z, i) => {
      const tds = series.map((sr) => {
        const at = <T extends { key: CellStatus['key'] }>(x: T) => x.key.size === z && seriesLabel(x.key) === sr;
        return glancePair(outcomes.find(at), cells.find(at), rate, scale);
      });
      rows.push(`<tr${i === 0 ? ' class="group-start"' : ''}><th scope="row">${i === 0 ? esc(g) : ''}</th><td>${esc(sizeLabel(z))}</td><td class="ci">${esc(scale.unit)}</td>${tds.join('')}</tr>`);
    });
  }
  const head1 = `<tr><th rowspan="2">Workload</th><th rowspan="2">Size</th><th rowspan="2">Unit</th>${series.map((s) => `<th class="group" colspan="2">${esc(s)}</th>`).join('')}</tr>`;
  const head2 = `<tr>${series.map(() => '<th class="num">Rate</th><th class="num">Host CPU %</th>').join('')}</tr>`;
  return `<section id="glance"><h2>Backends side by side</h2><p class="lead">Throughput (stream workloads) or transactions/s (request/response), and host CPU in percent of one core, mean ± ${Math.round(doc.level * 100)} % confidence half-width. An errored cell shows no numbers, whatever partial iterations it had.</p>
<div class="table-wrap"><table class="numbers glance"><thead>${head1}${head2}</thead><tbody>${rows.join('')}</tbody></table></div></section>`;
}

function manifestSection(doc: ReportDoc): string {
  const m = doc.manifest;
  const run = kv([
    ['Run ID', `<code>${esc(m.runId)}</code>`],
    ['Kind', esc(m.kind)],
    ['Status', `${statusPill(doc.status)}${doc.status !== m.status ? ` <small>(the manifest says ${esc(m.status)})</small>` : ''}`],
    ['Started', esc(m.createdAt)],
    ['Finished', esc(m.finishedAt ?? '—')],
    ['Duration', esc(runDuration(doc))],
    ['Run directory', `<code>${esc(doc.runDir)}</code>`],
    ['vnetbench', esc(`${m.tool.version} (Node ${m.tool.node})`)],
    ...(m.accel ? ([['Accelerator', esc(m.accel)]] as [string, string][]) : []),
  ]);
  const host = kv([
    ['Hostname', esc(m.host.hostname)],
    ['OS', esc(m.host.os)],
    ['Kernel', esc(m.host.kernel)],
    ['CPU', esc(`${m.host.cpuModel} × ${m.host.cpus}`)],
    ['Memory', esc(`${m.host.memMiB} MiB`)],
  ]);
  const versions = Object.keys(m.versions).length ? kv(Object.entries(m.versions).map(([k, v]) => [k, esc(v)])) : '<p class="lead">No versions recorded.</p>';
  const lines = Object.entries(m.commandLines);
  const cmdLines = lines.length
    ? lines.map(([k, argv]) => `<h4>${esc(k)}</h4><pre>${esc(formatArgv(argv))}</pre>`).join('')
    : '<p class="lead">No QEMU or daemon command lines recorded.</p>';
  const shown = doc.commands.slice(0, 1000);
  const cmds = doc.commands.length
    ? `<details class="screen-only"><summary>All ${doc.commands.length} commands the run executed${doc.commands.length > shown.length ? ` (first ${shown.length} shown; all in commands.jsonl)` : ''}</summary>
<table><thead><tr><th>At</th><th class="num">Exit</th><th class="num">ms</th><th>Command</th></tr></thead><tbody>${shown
        .map(
          (c) =>
            `<tr><td class="mono">${esc(c.at?.slice(11, 23) ?? '')}</td><td class="num">${c.signal ? esc(c.signal) : esc(c.code)}</td><td class="num">${c.durationMs}</td><td class="mono">${esc(formatArgv(c.argv))}</td></tr>`,
        )
        .join('')}</tbody></table></details>`
    : '';
  return `<section id="manifest"><h2 class="page">Run manifest</h2>
<div class="cols"><div><h3>Run</h3>${run}</div><div><h3>Host</h3>${host}<h3>Versions</h3>${versions}</div></div>
<h3>QEMU and daemon command lines</h3>${cmdLines}${cmds}
<details class="print-open"><summary>Run configuration</summary><pre>${esc(JSON.stringify(m.config, null, 2))}</pre></details></section>`;
}

function capabilitySection(doc: ReportDoc): string {
  const caps = doc.capabilities.length
    ? `<table><thead><tr><th>Capability</th><th>Status</th><th>Reason</th><th>To enable</th></tr></thead><tbody>${doc.capabilities
        .map((c) => `<tr><td><strong>${esc(c.name)}</strong></td><td>${c.runnable ? pill('ok', 'available') : pill('skip', 'skipped')}</td><td>${esc(c.reason)}</td><td>${esc(c.fix ?? '')}</td></tr>`)
        .join('')}</tbody></table>`
    : '<p class="lead">The run recorded no capability probes.</p>';
  const backends = [...new Set([...doc.outcomes.map((c) => c.key.backend), ...doc.boots.map((b) => b.backend), ...doc.skips.map((s) => s.backend), ...doc.errors.map((e) => e.backend)])];
  const ran = backends.map((b) => {
    const cells = doc.cells.filter((c) => c.key.backend === b);
    const outcomes = doc.outcomes.filter((o) => o.key.backend === b);
    const n = (k: CellStatus['outcome']) => outcomes.filter((o) => o.outcome === k).length;
    const boots = doc.boots.filter((x) => x.backend === b);
    const skips = doc.skips.filter((s) => s.backend === b);
    const errors = doc.errors.filter((e) => e.backend === b && e.effect !== 'recovered');
    const status = errors.length ? pill('fail', 'error') : cells.length ? pill('ok', 'measured') : skips.length ? pill('skip', 'skipped') : pill('skip', 'no data');
    const why = [...new Set([...skips.map((s) => `${s.workload ? `${scopeWorkload(s)}: ` : ''}${s.reason}`), ...errors.map((e) => `${e.cell ?? (e.workload ? `${e.workload}` : '')}${e.cell || e.workload ? ': ' : ''}${e.message}`)])];
    return `<tr><td><strong>${esc(b)}</strong></td><td>${status}</td><td>${esc([...new Set(cells.map((c) => workloadLabel(c.key)))].join(', ') || '—')}</td><td class="num">${cells.length}</td><td class="num">${n('errored')}</td><td class="num">${n('skipped')}</td><td class="num">${cells.reduce((a, c) => a + c.iterations.length, 0)}</td><td class="num">${boots.length ? boots.map((x) => `${num(x.bootToReadyS)} s`).join(', ') : '—'}</td><td class="why">${why.map((w) => errorHtml(w)).join('<br>')}</td></tr>`;
  });
  const table = backends.length
    ? `<h3>What ran</h3><div class="table-wrap"><table class="ran"><thead><tr><th>Backend</th><th>Status</th><th>Workloads measured</th><th class="num">Measured</th><th class="num">Errored</th><th class="num">Skipped</th><th class="num">Iterations</th><th class="num">Boot to ready</th><th>Skipped / errors</th></tr></thead><tbody>${ran.join('')}</tbody></table></div>`
    : '';
  return `<section id="capabilities"><h2>Capabilities: what ran, what was skipped and why</h2>
<p class="lead">Probed on this host before the run. A skipped item was not run; it is never counted as passed.</p>${caps}${table}</section>`;
}

function chartSection(id: string, title: string, lead: string, charts: ChartSpec[], level: number, empty: string, pageBreak = false): string {
  const body = charts.length ? charts.map((c) => chartBlock(c, level)).join('\n') : `<p class="lead">${esc(empty)}</p>`;
  return `<section id="${id}"><h2${pageBreak ? ' class="page"' : ''}>${esc(title)}</h2><p class="lead">${esc(lead)}</p>${body}</section>`;
}

function conformanceSection(doc: ReportDoc, charts: ChartSpec[]): string {
  const c = doc.conformance;
  if (!c.results.length) return '';
  const head = `<tr><th>Req.</th><th>§</th><th>Level</th><th>Requirement</th>${c.duts.map((d) => `<th>${esc(d)}</th>`).join('')}</tr>`;
  const rows = c.requirements.map((req) => {
    const cells = c.duts.map((d) => {
      const r = c.results.find((x) => x.requirement === req.id && x.column === d);
      if (!r) return '<td class="outcome missing" title="not run for this device">–</td>';
      return `<td class="outcome" data-requirement="${esc(req.id)}" data-dut="${esc(d)}" data-outcome="${r.outcome}" title="${esc(r.evidence)}"><details><summary>${pill(r.outcome, r.outcome)}</summary><div class="evidence">${esc(r.evidence)}</div></details></td>`;
    });
    return `<tr><td class="req">${esc(req.id)}</td><td>${esc(req.section)}</td><td>${esc(req.level)}</td><td>${esc(req.title)}</td>${cells.join('')}</tr>`;
  });
  const findings = groupedFindings(c.results);
  const legend = Object.entries(OUTCOME_COLORS)
    .map(([o]) => `<span>${pill(o, o)} ${{ pass: 'requirement met', warn: 'SHOULD not met', fail: 'MUST violated (evidence: expected vs observed)', skip: 'not testable here (reason given)' }[o]}</span>`)
    .join('');
  return `<section id="conformance"><h2 class="page">Virtio conformance</h2>
<p class="lead">Each requirement of the catalogue checked from the driver side, per device under test.<span class="screen-only"> Hover a cell for its evidence, or click to expand it.</span></p>
${charts.map((s) => chartBlock(s, doc.level)).join('')}
<h3>Requirement × device</h3><div class="legend">${legend}</div>
<table class="matrix"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>
${findings.length ? `<h3>Findings and skips, with evidence</h3><table class="findings"><thead><tr><th>Req.</th><th>Device</th><th>Outcome</th><th>Evidence</th></tr></thead><tbody>${findings.map((r) => `<tr><td class="req">${esc(r.requirements.join(', '))}</td><td>${esc(r.column)}</td><td>${pill(r.outcome, r.outcome)}</td><td class="evidence">${esc(r.evidence)}</td></tr>`).join('')}</tbody></table>` : ''}
</section>`;
}

/** Fail, warn, then skip; skips with the same reason on one device folded into one row. */
function groupedFindings(results: ReportDoc['conformance']['results']): { requirements: string[]; column: string; outcome: string; evidence: string }[] {
  const order = { fail: 0, warn: 1, skip: 2, pass: 3 };
  const rows: { requirements: string[]; column: string; outcome: string; evidence: string }[] = [];
  for (const r of [...results].sort((a, b) => order[a.outcome] - order[b.outcome])) {
    if (r.outcome === 'pass') continue;
    const same = r.outcome === 'skip' && rows.find((x) => x.outcome === 'skip' && x.column === r.column && x.evidence === r.evidence);
    if (same) same.requirements.push(r.requirement);
    else rows.push({ requirements: [r.requirement], column: r.column, outcome: r.outcome, evidence: r.evidence });
  }
  return rows;
}

function appendixSection(doc: ReportDoc): string {
  if (!doc.cells.length) return '';
  const metrics = Object.keys(doc.metrics) as MetricName[];
  const tables = doc.cells.map((c) => {
    const rows = metrics
      .filter((m) => c.summary[m])
      .map((m) => {
        const s = c.summary[m]!;
        const info = metricInfo(m)!;
        return `<tr><td title="${esc(info.doc)}">${esc(info.label)}</td><td class="num" data-cell="${esc(c.id)}" data-metric="${m}" data-value="${s.mean}" data-scale="1">${num(s.mean)}</td><td class="num">${num(s.ciLow)} – ${num(s.ciHigh)}</td><td class="num">${num(s.stddev)}</td><td class="num">${s.n}</td><td>${esc(info.unit)}</td></tr>`;
      });
    return `<h4>${esc(workloadLabel(c.key))} · ${esc(cellLabel(c.key))} <small class="mono">${esc(c.id)}</small></h4>
<div class="table-wrap"><table class="numbers"><thead><tr><th>Metric</th><th class="num">Mean</th><th class="num">${Math.round(doc.level * 100)} % CI</th><th class="num">Std dev</th><th class="num">n</th><th>Unit</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
  });
  return `<section id="appendix"><h2>Every metric of every cell</h2><p class="lead print-only">Every metric of every cell, with its confidence interval, standard deviation and sample count, is in summary.csv (and per iteration in results.csv) beside this report, and in the HTML version.</p><details class="screen-only"><summary>Show all ${doc.cells.length} cells (the same numbers as results.csv / summary.csv)</summary>${tables.join('')}</details></section>`;
}

export function reportHtml(doc: ReportDoc): string {
  const ch = reportCharts(doc);
  const lv = doc.level;
  const sections: [string, string, string][] = [];
  const add = (id: string, label: string, html: string) => html && sections.push([id, label, html]);
  add('summary', 'Summary', summarySection(doc));
  add('glance', 'Side by side', glanceSection(doc));
  add('manifest', 'Manifest', manifestSection(doc));
  add('capabilities', 'Capabilities', capabilitySection(doc));
  if (doc.cells.length) {
    add('throughput', 'Throughput', chartSection('throughput', 'Throughput vs message size', 'Stream workloads in bits per second of payload; request/response workloads in transactions per second. One line per backend.', ch.throughput, lv, 'No throughput was measured.', true));
    add('cpu', 'CPU', chartSection('cpu', 'Where the CPU went', 'Host CPU per thread class, stacked (vCPU threads, QEMU main/IO threads, vhost workers, backend processes, host softirq), topped by the rest of the host CPU so each stack is as tall as the host total; the guest CPU stands beside it. 100 % is one core.', ch.cpu, lv, 'No CPU accounting in this run.', true));
    add('service-demand', 'Service demand', chartSection('service-demand', 'Service demand', 'CPU microseconds per KB (1024 bytes) transferred, netperf\u2019s definition: lower is better.', ch.serviceDemand, lv, 'No service demand in this run.'));
    add('latency', 'Latency', chartSection('latency', 'Latency percentiles (request/response workloads)', 'Round-trip latency per transaction as the workload engine reports it.', ch.latency, lv, 'No request/response workload reported latency in this run.', true));
    add('per-core', 'Per core', chartSection('per-core', 'Throughput per host core', 'Throughput divided by the host CPU cores used (host CPU total / 100): how far the backend stretches each core.', ch.perCore, lv, 'Throughput per host core was not measured in this run.'));
  }
  add('conformance', 'Conformance', conformanceSection(doc, ch.conformance));
  add('appendix', 'All numbers', appendixSection(doc));
  const m = doc.manifest;
  return page({
    title: `vnetbench ${m.kind} report`,
    subtitleHtml: `<code>${esc(m.runId)}</code> · ${esc(m.host.hostname)} · ${esc(m.createdAt.slice(0, 16).replace('T', ' '))} UTC · ${statusPill(doc.status)}`,
    toc: sections.map(([id, label]) => ({ id, label })),
    bodyHtml: sections.map(([, , html]) => html).join('\n'),
    charts: allCharts(ch),
    generator: `vnetbench ${m.tool.version}`,
  });
}
