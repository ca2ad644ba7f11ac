/** Finding and reading the sysconfig file; core/config.ts parses its text. */
import { readFileSync } from 'node:fs';
import { parseConfig, type Config } from '../core/config.js';
import { EtokenError, ExitCode } from '../core/exit-codes.js';

export const DEFAULT_CONFIG_FILE = '/etc/sysconfig/etoken-ca';

/** Which file: `--config FILE`, else ETOKEN_CA_CONFIG, else the default. */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.ETOKEN_CA_CONFIG ?? DEFAULT_CONFIG_FILE;
}

export function loadConfig(file: string, standIns: Readonly<Record<string, string>> = {}): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new EtokenError(ExitCode.config, `${file}: cannot read config: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseConfig(text, file, standIns);
}
