/**
 * `etoken-ca-server scep ...`: the operator's SCEP commands, root only.
 *
 *   challenge --subject PATTERN [--days N]   a one-time challenge, printed once; only its hash is queued
 *   approve TXID                              one approval point for a pending request
 *   pending [--json]                          the requests waiting, from the CA database
 *   issue-ra-cert --subject DN [--new-key]    the RA key (made when missing) certified by the CA
 *
 * Orders go through SCEP_QUEUE_DIR to the running server, which records them
 * in the journal; the command waits for the result in done/.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '@etoken-ca/contract/core/config';
import { onelineDn, parseSlashDn } from '@etoken-ca/contract/core/dn';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import { parseNamespace } from '@etoken-ca/contract/core/namespace';
import { MAX_CHALLENGES_PER_ORDER, type ScepOrder, type ScepOrderDone } from '@etoken-ca/contract/core/scep/scep-orders';
import { loadCaDatabase } from '@etoken-ca/contract/io/cadb/load';
import { configPath, loadConfig } from '@etoken-ca/contract/io/load-config';
import { currentOperator } from '@etoken-ca/contract/io/operator';
import { ensureQueueDir, queueLayout } from '@etoken-ca/contract/io/revocation-queue-dir';
import { readScepOrderDone, writeScepOrder } from '@etoken-ca/contract/io/scep-orders-dir';
import { lookupUser } from '../proc.js';
import { writeFileAtomic } from '@etoken-ca/contract/io/atomic-file';
import { pendingTable, pendingJson } from './pending-listing.js';

export const SCEP_USAGE = `usage: etoken-ca-server scep COMMAND [--config FILE]

  challenge --subject PATTERN [--days N] [--count N]
      Creates a one-time challenge password for the subjects PATTERN matches
      (SUBJECT_NAMESPACE syntax, e.g. "/DC=org/DC=example/CN=host1.example.org"),
      valid N days (default 7), and prints it once (--count: that many, one a
      line, each usable once). Only their hashes are stored.
  approve TRANSACTION-ID
      Gives a pending SCEP request one approval point (once per operator).
  pending [--json]
      Lists the SCEP requests still waiting: transaction id, subject, names,
      authentication, approval points, expiry.
  issue-ra-cert --subject DN [--new-key]
      Certifies the RA key SCEP_RA_KEY (an RSA key made for SCEP_USER when
      missing, or anew with --new-key) by the CA on the token, and writes the
      certificate to SCEP_RA_CERT. Restart etoken-ca-scep afterwards.

Every command but pending needs the server running (it waits --timeout
seconds, default 60). Root only. Exit codes as etoken-ca-server's.`;

const DAY_MS = 86_400_000;
const POLL_MS = 100;
/** 128 random bits in hex: nothing to guess, and plain enough for every client's PrintableString. */
const CHALLENGE_BYTES = 16;

interface CommandArgs {
  readonly command: string;
  readonly operand: string | undefined;
  readonly config: string | undefined;
  readonly subject: string | undefined;
  readonly days: number;
  readonly count: number;
  readonly json: boolean;
  readonly newKey: boolean;
  readonly timeoutMs: number;
  readonly help: boolean;
}

function usage(why: string): EtokenError {
  return new EtokenError(ExitCode.usage, `${why}\n${SCEP_USAGE}`);
}

function readArgs(argv: readonly string[]): CommandArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string' },
        subject: { type: 'string' },
        days: { type: 'string' },
        count: { type: 'string' },
        json: { type: 'boolean' },
        'new-key': { type: 'boolean' },
        timeout: { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  } catch (e) {
    throw usage((e as Error).message);
  }
  const { values, positionals } = parsed;
  const whole = (text: string | undefined, fallback: number, max: number, name: string): number => {
    if (text === undefined) return fallback;
    if (!/^\d{1,6}$/.test(text) || Number(text) < 1 || Number(text) > max) throw usage(`--${name} must be a whole number from 1 to ${max}`);
    return Number(text);
  };
  return {
    command: positionals[0] ?? '',
    operand: positionals[1],
    config: values.config,
    subject: values.subject,
    days: whole(values.days, 7, 3650, 'days'),
    count: whole(values.count, 1, MAX_CHALLENGES_PER_ORDER, 'count'),
    json: values.json ?? false,
    newKey: values['new-key'] ?? false,
    timeoutMs: whole(values.timeout, 60, 3600, 'timeout') * 1000,
    help: values.help ?? false,
  };
}

export async function runScepCommand(argv: readonly string[]): Promise<void> {
  const args = readArgs(argv);
  if (args.help || args.command === '') return void process.stdout.write(`${SCEP_USAGE}\n`);
  if (process.getuid?.() !== 0) throw new EtokenError(ExitCode.noPermission, 'etoken-ca-server scep: root only');
  const config = loadConfig(configPath(args.config));
  switch (args.command) {
    case 'challenge':
      return challenge(config, args);
    case 'approve':
      if (args.operand === undefined || !/^[\x21-\x7e]{1,255}$/.test(args.operand)) throw usage('approve needs the transaction id `scep pending` shows');
      return report(await order(config, args, { kind: 'approve', txid: args.operand }));
    case 'pending':
      return pending(config, args);
    case 'issue-ra-cert':
      return issueRaCertificate(config, args);
    default:
      throw usage(`unknown scep command "${args.command}"`);
  }
}

async function challenge(config: Config, args: CommandArgs): Promise<void> {
  if (args.subject === undefined) throw usage('challenge needs --subject PATTERN');
  try {
    parseNamespace(`"${args.subject}"`);
  } catch (e) {
    throw usage(`--subject: ${(e as Error).message}`);
  }
  const secrets = Array.from({ length: args.count }, () => randomBytes(CHALLENGE_BYTES).toString('hex'));
  const hashes = secrets.map((secret) => createHash('sha256').update(secret, 'utf8').digest('hex'));
  const done = await order(config, args, { kind: 'challenge', hashes, subject: args.subject, expires: Date.now() + args.days * DAY_MS });
  if (!done.result.ok) throw new EtokenError(ExitCode.dataError, done.result.message);
  // The one time the challenges exist outside the operator's hands: they are stored nowhere.
  process.stdout.write(`${secrets.join('\n')}\n`);
  process.stderr.write(`${done.result.message}; it works once.\n`);
}

async function issueRaCertificate(config: Config, args: CommandArgs): Promise<void> {
  if (args.subject === undefined) throw usage('issue-ra-cert needs --subject DN (inside SCEP_SUBJECTS)');
  let subject: string;
  try {
    subject = onelineDn(parseSlashDn(args.subject));
  } catch (e) {
    throw usage(`--subject: ${(e as Error).message}`);
  }
  const account = lookupUser(config.scepUser);
  if (!account) throw new EtokenError(ExitCode.config, `${config.file}: SCEP_USER: no such user "${config.scepUser}"`);
  if (args.newKey || !existsSync(config.scepRaKey)) writeRaKey(config.scepRaKey, account.uid, account.gid);
  const spki = createPublicKey(createPrivateKey(readFileSync(config.scepRaKey))).export({ type: 'spki', format: 'der' });
  const done = await order(config, args, { kind: 'ra-cert', subject, spki: spki.toString('base64') });
  if (!done.result.ok || done.result.certificate === undefined) throw new EtokenError(ExitCode.dataError, done.result.message);
  mkdirSync(dirname(config.scepRaCert), { recursive: true, mode: 0o755 });
  writeFileAtomic(config.scepRaCert, done.result.certificate, { mode: 0o644 });
  process.stdout.write(`${done.result.message}: ${config.scepRaCert} (restart etoken-ca-scep to use it)\n`);
}

/** A new RSA-2048 RA key for the SCEP account: owned by it, mode 0600, before a byte of it is written. */
function writeRaKey(path: string, uid: number, gid: number): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileAtomic(path, pem, { mode: 0o600, owner: { uid, gid } });
  process.stderr.write(`new RA key ${path} (owner ${uid}, mode 0600)\n`);
}

/** An order as the command words it; the queue adds who, when and its id. */
type OrderBody = ScepOrder extends infer O ? (O extends ScepOrder ? Omit<O, 'id' | 'by' | 'uid' | 'requestedAt'> : never) : never;

/** Queues an order and waits for its result: exit 75 when the server does not answer in time (the order stays queued). */
async function order(config: Config, args: CommandArgs, body: OrderBody): Promise<ScepOrderDone> {
  const layout = queueLayout(config.scepQueueDir);
  ensureQueueDir(layout);
  const operator = await currentOperator();
  const id = randomBytes(16).toString('hex');
  writeScepOrder(layout, { ...body, id, by: operator.name, uid: operator.uid, requestedAt: Date.now() });
  const deadline = Date.now() + args.timeoutMs;
  for (;;) {
    const done = readScepOrderDone(layout, id);
    if (done) return done;
    if (Date.now() >= deadline) {
      throw new EtokenError(ExitCode.tempFail, `no answer from etoken-ca-server within ${args.timeoutMs / 1000} s (is it running with SCEP_ENABLE=yes?); the order stays queued in ${config.scepQueueDir}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function report(done: ScepOrderDone): void {
  if (!done.result.ok) throw new EtokenError(ExitCode.dataError, done.result.message);
  process.stdout.write(`${done.result.message}\n`);
}

function pending(config: Config, args: CommandArgs): void {
  const { db } = loadCaDatabase(config.caDir);
  const waiting = db.scep.pending().sort((a, b) => a.created - b.created);
  process.stdout.write(args.json ? pendingJson(waiting, config) : pendingTable(waiting, config));
}
