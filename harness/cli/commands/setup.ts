// Placeholder until the setup implementation lands (issue 2).
import type { Command } from 'commander';
export function register(program: Command): void {
  program.command('setup').description('install what vnetbench needs (in progress)');
}
