// JSON export: the normalized report document as is (schema vnetbench.report/1, see model.ts).
import type { ReportDoc } from './model.ts';

export function reportJson(doc: ReportDoc): string {
  return JSON.stringify(doc, null, 2) + '\n';
}
