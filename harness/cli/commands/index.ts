// Every CLI command, one file each. A command file exports `register(program)`.
import type { Command } from 'commander';
import { register as setup } from './setup.ts';
import { register as doctor } from './doctor.ts';
import { register as cleanup } from './cleanup.ts';
import { register as report } from './report.ts';
import { register as compare } from './compare.ts';
import { register as image } from './image.ts';
import { register as run } from './run.ts';
import { register as conform } from './conform.ts';
import { register as backend } from './backend.ts';
import { register as repro } from './repro.ts';
import { register as referenceDevice } from './reference-device.ts';

export const COMMANDS: ((program: Command) => void)[] = [setup, doctor, cleanup, report, compare, image, run, conform, backend, repro, referenceDevice];
