// Placeholder until the doctor implementation lands (issue 2).
import type { Command } from 'commander';
export function register(program: Command): void {
  program.command('doctor').description('install what vnetbench needs (in progress)');
}
