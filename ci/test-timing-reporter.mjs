// A node:test reporter that writes nothing to its own destination and, when VNB_TEST_TIMINGS
// names a file, writes there the unit and integration tests' counts and summed durations (each
// top-level test's own duration: events from several files arrive interleaved, so wall-clock
// spans per group are not reliable; module loading is in the total only). .ci/run prints it.
// Plain JavaScript: it must run without a build step.
import fs from 'node:fs';

const groupOf = (file) => (file?.includes('/test/integration/') ? 'integration' : file?.includes('/test/unit/') ? 'unit' : 'other');

export default async function* timingReporter(source) {
  const groups = {};
  for await (const e of source) {
    if ((e.type !== 'test:pass' && e.type !== 'test:fail') || e.data.nesting !== 0) continue;
    const g = (groups[groupOf(e.data.file)] ??= { seconds: 0, passed: 0, failed: 0, skipped: 0 });
    g.seconds += (e.data.details?.duration_ms ?? 0) / 1000;
    const skip = e.data.skip !== undefined || e.data.todo !== undefined;
    g[e.type === 'test:fail' ? 'failed' : skip ? 'skipped' : 'passed']++;
  }
  if (process.env.VNB_TEST_TIMINGS) fs.writeFileSync(process.env.VNB_TEST_TIMINGS, JSON.stringify(groups, null, 2));
  yield '';
}
