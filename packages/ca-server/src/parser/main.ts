/**
 * The request parser process: `node parser/main.js --config FILE`, started by
 * the supervisor under its own unprivileged uid with an empty environment. It
 * holds nothing (no PIN, no token, no CA files) and is the only process that
 * parses hostile request bytes. ParseRequest lines on stdin, one ParseResult
 * line on stdout for each, one-line diagnostics on stderr; exit 0 at EOF.
 */
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { configPath, loadConfig, type Config } from '@etoken-ca/contract/config';
import { printable } from '@etoken-ca/contract/dn';
import { EtokenError, ExitCode } from '@etoken-ca/contract/exit-codes';
import { faultPoint } from '@etoken-ca/contract/fault-point';
import { boundedLines } from './line-reader.js';
import { answer, decodeParseRequest } from './messages.js';

/** Far above any spooled request in base64 (MAX_REQUEST_SIZE is at most 1 MiB). */
const MAX_LINE_BYTES = 4 * 1024 * 1024;

function diagnose(message: string): void {
  process.stderr.write(`etoken-ca parser: ${printable(message.replace(/\s+/g, ' '), 300)}\n`);
}

function readConfig(): Config {
  let flag: string | undefined;
  try {
    flag = parseArgs({ options: { config: { type: 'string' } }, strict: true }).values.config;
  } catch {
    // argv is not echoed: whatever was passed there has no business in a log.
    throw new EtokenError(ExitCode.usage, 'usage: parser/main.js --config FILE');
  }
  return loadConfig(configPath(flag, {}));
}

async function serve(config: Config): Promise<void> {
  for await (const line of boundedLines(process.stdin, MAX_LINE_BYTES)) {
    const request = decodeParseRequest(line.toString('utf8'));
    faultPoint('parser.on-receipt');
    const result = answer(request, config, (e) => diagnose(`internal error on request ${request.id}: ${String(e)}`));
    faultPoint('parser.before-reply');
    if (!process.stdout.write(`${JSON.stringify(result)}\n`)) await once(process.stdout, 'drain');
  }
}

async function main(): Promise<void> {
  try {
    await serve(readConfig());
  } catch (e) {
    diagnose(e instanceof Error ? e.message : String(e));
    process.exit(e instanceof EtokenError ? e.exitCode : ExitCode.software);
  }
}

await main();
