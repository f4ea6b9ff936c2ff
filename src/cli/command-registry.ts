import type { CliCommand } from './cli-command.js';
import { inspectCommand } from './commands/inspect-command.js';
import { stressCommand } from './commands/stress-command.js';
import { dbCommand } from './commands/db-command.js';
import { demoCommand } from './commands/demo-command.js';
import { clusterCommand } from './commands/cluster-command.js';

/** Every command of the `poolscope` CLI, in the order `--help` lists them. */
export const CLI_COMMANDS: readonly CliCommand[] = [inspectCommand, stressCommand, dbCommand, clusterCommand, demoCommand];
