// RunConfig -> MethodOptions for one workload.
import type { RunConfig, WorkloadName } from '../config/schema.ts';
import type { MetricName } from '../results/metrics.ts';
import { primaryMetric } from '../workloads/types.ts';
import type { MethodOptions } from './scheduler.ts';

/** As netperf -I: the work rate and the CPU on both sides. */
export function defaultConfidenceMetrics(workload: WorkloadName): MetricName[] {
  return [primaryMetric(workload), 'host_cpu_total_pct', 'guest_cpu_pct'];
}

export function methodOptions(config: Pick<RunConfig, 'warmup' | 'iterations' | 'confidence'>, workload: WorkloadName): MethodOptions {
  return {
    warmupS: config.warmup,
    iterations: config.iterations,
    confidence: config.confidence,
    confidenceMetrics: defaultConfidenceMetrics(workload),
  };
}
