/**
 * The request parser process, started by the supervisor through
 * child-entry.js as PARSER_USER: `main.js --config FILE`. It holds nothing
 * (no PIN, no token, no CA files) and is the only process that decodes
 * hostile request bytes. Parse requests come in as frames on stdin, one
 * answer goes out on stdout for each, one-line diagnostics on stderr; exit 0
 * at EOF. A frame it cannot read means the supervisor is broken: it exits.
 */
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import type { Config } from '@etoken-ca/contract/core/config';
import { printable } from '@etoken-ca/contract/core/dn';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import { readCaCertificate } from '@etoken-ca/contract/io/ca-certificate-file';
import { faultPoint } from '@etoken-ca/contract/io/fault-point';
import { configPath, loadConfig } from '@etoken-ca/contract/io/load-config';
import { FrameDecoder } from '@etoken-ca/protocol/frames';
import { encodeParseAnswer, MAX_REQUEST_BYTES, readParseRequest } from '@etoken-ca/protocol/parser-messages';
import { encodeScepParseAnswer, readScepParseRequest, type ScepParseAnswer, type ScepParseRequest } from '@etoken-ca/protocol/scep-parser-messages';
import { answer } from './messages.js';
import { scepAnswer } from './scep-messages.js';

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

async function write(chunks: readonly Buffer[]): Promise<void> {
  for (const chunk of chunks) if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
}

/** The CA certificate a RenewalReq's signer must come from: read at the first SCEP request (MyProxy-only sites never need it). */
let caCertificate: X509Certificate | undefined;

function answerScep(request: ScepParseRequest, config: Config): ScepParseAnswer {
  caCertificate ??= new X509Certificate(readCaCertificate(config.caCert).der);
  faultPoint('parser.on-receipt');
  const result = scepAnswer(request, config, caCertificate, (e) => diagnose(`internal error on SCEP request ${request.id}: ${String(e)}`));
  faultPoint('parser.before-reply');
  return result;
}

async function serve(config: Config): Promise<void> {
  const decoder = new FrameDecoder({ maxLine: 4096, maxPayload: MAX_REQUEST_BYTES });
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    for (const frame of decoder.push(chunk)) {
      if (frame.message.type === 'parse-scep') {
        await write(encodeScepParseAnswer(answerScep(readScepParseRequest(frame), config)));
        continue;
      }
      const request = readParseRequest(frame);
      faultPoint('parser.on-receipt');
      const result = answer(request, config, (e) => diagnose(`internal error on request ${request.id}: ${String(e)}`));
      faultPoint('parser.before-reply');
      await write(encodeParseAnswer(result));
    }
  }
}

try {
  await serve(readConfig());
} catch (e) {
  diagnose(e instanceof Error ? e.message : String(e));
  process.exit(e instanceof EtokenError ? e.exitCode : ExitCode.software);
}
