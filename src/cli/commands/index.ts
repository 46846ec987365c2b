import type { Command } from '../command.ts';
import { trainCommand } from './train.ts';
import { evalCommand } from './eval.ts';
import { doctorCommand } from './doctor.ts';
import { ptqCommand } from './ptq.ts';
import { exportCommand } from './export.ts';
import { demoCommand } from './demo.ts';
import { reportCommand } from './report.ts';
import { qatCommand } from './qat.ts';
import { nceCommand } from './nce.ts';
import { runCommand } from './run.ts';
import { convertCommand } from './convert.ts';

export const COMMANDS: Command[] = [demoCommand, trainCommand, evalCommand, ptqCommand, qatCommand, nceCommand, runCommand, exportCommand, convertCommand, reportCommand, doctorCommand];
