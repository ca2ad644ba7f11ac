import { describe, expect, it } from 'vitest';
import { parseConfig } from '@etoken-ca/contract/core/config';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import { CORPUS_CONFIG, corpus } from '../../../../test/corpus/corpus.js';
import { rsaCsr, keys } from '../../../../test/corpus/csr-builder.js';
import { request } from '../../../../test/corpus/requests.js';
import { expectOutcome, type Outcome } from '../../../../test/corpus/expectations.js';
import { parseSpooledRequest } from './parse-request.js';

const config = parseConfig(CORPUS_CONFIG, 'corpus.conf');
const entries = corpus();

function refusal(bytes: Buffer): EtokenError {
  try {
    parseSpooledRequest(bytes, config);
  } catch (e) {
    return e as EtokenError;
  }
  throw new Error('request was not refused');
}

function outcome(bytes: Buffer): Outcome {
  try {
    return parseSpooledRequest(bytes, config);
  } catch (e) {
    expect(e).toBeInstanceOf(EtokenError);
    expect((e as EtokenError).exitCode).toBe(ExitCode.dataError);
    return { refused: (e as EtokenError).message };
  }
}

describe('parseSpooledRequest against the corpus', () => {
  it.each(entries.map((e) => [e.name, e] as const))('%s', (_name, entry) => {
    expectOutcome(entry, outcome(entry.bytes), config);
  });
});

describe('parseSpooledRequest', () => {
  const csr = rsaCsr(keys().rsa2048);

  it('inserts the DN as plain text when DN_FORMAT puts %s inside a value', () => {
    const valueMode = parseConfig('DN_FORMAT=/O=Grid/CN=%s\n', 'value.conf');
    const fields = parseSpooledRequest(request(csr, { username: '/O=Example/CN=Admin email=a@example.org' }), valueMode);
    expect(fields.subject).toEqual([
      { type: 'O', value: 'Grid' },
      { type: 'CN', value: '/O=Example/CN=Admin' },
    ]);
    expect(fields.emails).toEqual(['a@example.org']);
  });

  it('never copies the CSR subject, whatever it says', () => {
    const fields = parseSpooledRequest(request(csr), config);
    expect(JSON.stringify(fields)).not.toContain('NULL SUBJECT NAME ENTRY');
  });

  it('takes a request with a passphrase line and reports nothing of it', () => {
    const text = request(csr).toString('utf8').replace('\nproxy_lifetime', '\npassphrase=hunter2\nproxy_lifetime');
    const fields = parseSpooledRequest(Buffer.from(text), config);
    expect(JSON.stringify(fields)).not.toContain('hunter2');
  });

  it('keeps a passphrase split over two lines out of the reason', () => {
    const text = request(csr).toString('utf8').replace('\nproxy_lifetime', '\npassphrase=hunter\nSecretTail\nproxy_lifetime');
    expect(refusal(Buffer.from(text)).message).not.toContain('SecretTail');
  });
});
