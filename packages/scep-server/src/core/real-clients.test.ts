/**
 * The core against SCEP clients written elsewhere, from Debian packages:
 * micromdm's scepclient and certmonger enroll and renew through a tiny HTTP
 * server that answers with this core, and certmonger's scep-submit reads
 * GetCACaps and GetCACert from it. Messages scepclient really sent are then
 * tampered with.
 */
import { Attribute, IssuerAndSerialNumber } from '@peculiar/asn1-cms';
import { AsnParser } from '@peculiar/asn1-schema';
import { Certificate, Name } from '@peculiar/asn1-x509';
import * as asn1js from 'asn1js';
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeTestPki, pem, type TestPki } from '../testing/openssl-pki.js';
import { requireDebianPackages } from '../testing/debian-packages.js';
import { Certmonger } from '../testing/certmonger.js';
import { runProgram } from '../testing/run-program.js';
import { ScepClient } from '../testing/scepclient.js';
import { LEGACY_ALGORITHMS, STRONG_ALGORITHMS, type AlgorithmPolicy } from './algorithm-policy.js';
import { octetStringValue, printableStringValue } from './attribute-values.js';
import { caCapabilitiesAnswer } from './ca-capabilities.js';
import { caCertificatesAnswer, noNextCaCertificateAnswer } from './ca-certificates.js';
import { failureReply, successReply } from './cert-rep.js';
import type { CsrFacts } from './csr.js';
import { derOf } from './der.js';
import { sealEnvelope } from './envelope-sealer.js';
import { ScepError } from './fail-info.js';
import { decodeGetMessage } from './get-message.js';
import { pkiMessageAnswer, type HttpAnswer } from './http-answer.js';
import { MAX_PKI_MESSAGE_BYTES } from './limits.js';
import { parsePkiMessage, type PkiRequest, type RequestContext } from './pki-message.js';
import { raCredentials, type RaCredentials } from './ra-credentials.js';
import { ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_MESSAGE_TYPE, ID_SENDER_NONCE, ID_TRANSACTION_ID } from './scep-oids.js';
import { openSignedData } from './signed-data-opener.js';
import { signByRa } from './signed-data-writer.js';

// Real clients, openssl and perhaps apt-get run here: seconds on a busy machine, minutes for apt-get.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 600_000 });

const CHALLENGE = 'one-time secret 42';

/**
 * The CA's side, as the stub plays it: issue for the right challenge, or for
 * a request signed by a certificate this CA issued (scepclient renews with a
 * RenewalReq, certmonger with a PKCSReq signed by its current certificate).
 */
function deservesCertificate(request: PkiRequest & { csr: CsrFacts }, caCertificate: Buffer): boolean {
  const renewal = !request.signerSelfSigned && new X509Certificate(request.signerCertificate).verify(new X509Certificate(caCertificate).publicKey);
  return renewal || request.csr.challengePassword === CHALLENGE;
}

interface Stub {
  readonly url: string;
  /** Every PKIOperation body as it arrived. */
  readonly received: Buffer[];
  /** Every request the core accepted. */
  readonly accepted: PkiRequest[];
  close(): Promise<void>;
}

async function startStub(pki: TestPki, ra: RaCredentials, policy: AlgorithmPolicy): Promise<Stub> {
  const received: Buffer[] = [];
  const accepted: PkiRequest[] = [];
  const context = (): RequestContext => ({ envelopeKey: { ra }, policy, caCertificates: [new X509Certificate(pki.caCertificate)], now: new Date(), maxClockSkewMs: 10 * 60_000 });

  /** `sent`: the POST body, or the GET message parameter. */
  const pkiOperation = (sent: Buffer | string): HttpAnswer => {
    let request: PkiRequest;
    try {
      const message = typeof sent === 'string' ? decodeGetMessage(sent) : sent;
      received.push(message);
      request = parsePkiMessage(message, context());
    } catch (error) {
      if (error instanceof ScepError && error.replyTo) return pkiMessageAnswer(failureReply(error.replyTo, error.failInfo, ra));
      return { status: 400, contentType: 'text/plain', body: Buffer.from(`${String(error)}\n`) };
    }
    accepted.push(request);
    if (!('csr' in request) || !deservesCertificate(request, pki.caCertificate)) return pkiMessageAnswer(failureReply(request, 'badRequest', ra));
    return pkiMessageAnswer(successReply(request, { certificates: [pki.issue(request.csr.der)] }, ra));
  };

  const answer = async (request: IncomingMessage): Promise<HttpAnswer> => {
    const url = new URL(request.url ?? '/', 'http://stub');
    switch (url.searchParams.get('operation')) {
      case 'GetCACaps':
        return caCapabilitiesAnswer(policy);
      case 'GetCACert':
        return caCertificatesAnswer([ra.certificateDer, pki.caCertificate]);
      case 'GetNextCACert':
        return noNextCaCertificateAnswer();
      case 'PKIOperation':
        return pkiOperation(request.method === 'POST' ? await body(request) : (url.searchParams.get('message') ?? ''));
      default:
        return { status: 400, contentType: 'text/plain', body: Buffer.from('unknown operation\n') };
    }
  };

  const server: Server = createServer((request, response) => {
    answer(request).then(
      ({ status, contentType, body }) => response.writeHead(status, { 'content-type': contentType }).end(body),
      (error: unknown) => response.writeHead(500).end(String(error)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/scep`,
    received,
    accepted,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function body(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_PKI_MESSAGE_BYTES) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

let pki: TestPki;
let ra: RaCredentials;
const cleanups: (() => unknown)[] = [];

beforeAll(() => {
  requireDebianPackages(['scep', 'certmonger', 'openssl']);
  pki = makeTestPki();
  ra = raCredentials(pki.raCertificate, createPrivateKey(pki.raKeyPem));
  cleanups.push(() => pki.remove());
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function newClient(): ScepClient {
  const client = new ScepClient();
  cleanups.push(() => client.remove());
  return client;
}

async function newStub(policy: AlgorithmPolicy, raOfStub: RaCredentials = ra): Promise<Stub> {
  const stub = await startStub(pki, raOfStub, policy);
  cleanups.push(() => stub.close());
  return stub;
}

function verifiesWithCa(certificatePem: Buffer): boolean {
  return new X509Certificate(certificatePem).verify(new X509Certificate(pki.caCertificate).publicKey);
}

describe('scepclient (micromdm 2.1.0, Debian 12)', () => {
  it('enrolls with a challenge password when the legacy algorithms are admitted', async () => {
    const stub = await newStub(LEGACY_ALGORITHMS);
    const client = newClient();
    const run = await client.run(stub.url, { challenge: CHALLENGE });
    expect(run.output).toContain('pkiStatus=SUCCESS');
    expect(run.status).toBe(0);
    const issued = new X509Certificate(client.certificate()!);
    expect(verifiesWithCa(client.certificate()!)).toBe(true);
    const request = stub.accepted[0]!;
    expect(request).toMatchObject({ messageType: 'PKCSReq', signerSelfSigned: true, digest: 'sha1', contentCipher: 'des-cbc' });
    expect(request.messageType === 'PKCSReq' && request.csr.challengePassword).toBe(CHALLENGE);
    expect(issued.publicKey.equals(createPublicKey(readFileSync(client.keyPath)))).toBe(true);
  });

  it('is refused with badRequest for a wrong challenge password, and says so', async () => {
    const stub = await newStub(LEGACY_ALGORITHMS);
    const run = await newClient().run(stub.url, { challenge: 'guessed' });
    expect(run.status).not.toBe(0);
    expect(run.output).toContain('failInfo: badRequest');
  });

  it('renews with the certificate it was issued (RenewalReq signed by that certificate)', async () => {
    const stub = await newStub(LEGACY_ALGORITHMS);
    const client = newClient();
    expect((await client.run(stub.url, { challenge: CHALLENGE })).status).toBe(0);
    const first = new X509Certificate(client.certificate()!);

    const renewal = await client.run(stub.url);
    expect(renewal.output).toContain('pkiStatus=SUCCESS');
    const second = new X509Certificate(client.certificate()!);
    expect(second.serialNumber).not.toBe(first.serialNumber);
    expect(verifiesWithCa(client.certificate()!)).toBe(true);
    const request = stub.accepted[1]!;
    expect(request).toMatchObject({ messageType: 'RenewalReq', signerSelfSigned: false });
    expect(new X509Certificate(request.signerCertificate).serialNumber).toBe(first.serialNumber);
  });

  it('is refused with badAlg by the default policy: it sends SHA-1 and single DES', async () => {
    const stub = await newStub(STRONG_ALGORITHMS);
    const run = await newClient().run(stub.url, { challenge: CHALLENGE });
    expect(run.status).not.toBe(0);
    expect(run.output).toContain('failInfo: badAlg');
  });
});

describe('messages scepclient sent, tampered with or signed again', () => {
  let message: Buffer;
  let clientKey: KeyObject;
  let context: RequestContext;

  beforeAll(async () => {
    const stub = await newStub(LEGACY_ALGORITHMS);
    const client = newClient();
    expect((await client.run(stub.url, { challenge: CHALLENGE })).status).toBe(0);
    message = stub.received[0]!;
    clientKey = createPrivateKey(readFileSync(client.keyPath));
    context = { envelopeKey: { ra }, policy: LEGACY_ALGORITHMS, caCertificates: [new X509Certificate(pki.caCertificate)], now: new Date(), maxClockSkewMs: 10 * 60_000 };
  });

  const failInfoOf = (der: Buffer, at: RequestContext = context): ScepError => {
    try {
      parsePkiMessage(der, at);
    } catch (error) {
      if (error instanceof ScepError) return error;
      throw error;
    }
    throw new Error('the message was accepted');
  };

  /** The client's message signed again by the client's own key, with some signed attributes replaced and perhaps another envelope. */
  const resigned = (replace: Record<string, ArrayBuffer>, envelope?: Buffer): Buffer => {
    const opened = openSignedData(message);
    const signer = raCredentials(derOf(opened.certificates[0]!), clientKey);
    const kept = opened.signedAttributes.filter(({ attrType }) => !(attrType in replace) && attrType !== ID_CONTENT_TYPE && attrType !== ID_MESSAGE_DIGEST);
    const replaced = Object.entries(replace).map(([attrType, value]) => new Attribute({ attrType, attrValues: [value] }));
    return signByRa(envelope ?? opened.content, [...kept, ...replaced], signer);
  };

  it('is accepted untouched', () => {
    expect(parsePkiMessage(message, context).messageType).toBe('PKCSReq');
  });

  it('refuses a flipped signature byte with badMessageCheck, and still knows whom to answer', () => {
    const signature = Buffer.from(openSignedData(message).signerInfo.signature.buffer);
    const tampered = Buffer.from(message);
    const at = tampered.indexOf(signature);
    tampered[at + signature.length - 1]! ^= 0x01;
    const error = failInfoOf(tampered);
    expect(error.failInfo).toBe('badMessageCheck');
    expect(error.replyTo?.transactionId).toBe(parsePkiMessage(message, context).transactionId);
  });

  it('refuses a changed envelope byte with badMessageCheck (the message digest no longer matches)', () => {
    const content = openSignedData(message).content;
    const tampered = Buffer.from(message);
    tampered[tampered.indexOf(content) + content.length - 1]! ^= 0x01;
    expect(failInfoOf(tampered).failInfo).toBe('badMessageCheck');
  });

  it('refuses a message enveloped to another RA with badRequest', async () => {
    const other = pki.otherRa();
    const otherRa = raCredentials(other.certificate, createPrivateKey(other.keyPem));
    const stub = await newStub(LEGACY_ALGORITHMS, otherRa);
    await newClient().run(stub.url, { challenge: CHALLENGE });
    const error = failInfoOf(stub.received[0]!);
    expect(error.failInfo).toBe('badRequest');
    expect(error.message).toContain('not enveloped to this RA');
  });

  it('refuses an unknown messageType with badRequest, though correctly signed', () => {
    const unknown = resigned({ [ID_MESSAGE_TYPE]: printableStringValue('99') });
    expect(failInfoOf(unknown).failInfo).toBe('badRequest');
    const certRep = resigned({ [ID_MESSAGE_TYPE]: printableStringValue('3') });
    expect(failInfoOf(certRep).failInfo).toBe('badRequest');
  });

  it('takes the re-signed message itself, so the refusals above are about what was changed', () => {
    expect(parsePkiMessage(resigned({}), context).messageType).toBe('PKCSReq');
  });

  it('reads CertPoll, GetCert and GetCRL in the same signed form, their envelopes naming a request or a certificate', () => {
    const caName = derOf(AsnParser.parse(pki.caCertificate, Certificate).tbsCertificate.subject);
    const clientName = derOf(openSignedData(message).certificates[0]!.tbsCertificate.subject);
    // IssuerAndSubject ::= SEQUENCE { issuer Name, subject Name }
    const issuerAndSubject = Buffer.from(new asn1js.Sequence({ value: [asn1js.fromBER(caName).result, asn1js.fromBER(clientName).result] }).toBER());
    const issuerAndSerial = derOf(new IssuerAndSerialNumber({ issuer: AsnParser.parse(caName, Name), serialNumber: Uint8Array.of(0x00, 0xc0, 0x01).buffer }));

    const poll = parsePkiMessage(resigned({ [ID_MESSAGE_TYPE]: printableStringValue('20') }, sealEnvelope(issuerAndSubject, ra.certificateDer, 'aes-128-cbc')), context);
    expect(poll.messageType === 'CertPoll' && poll.issuerAndSubject).toEqual({ issuer: caName, subject: clientName });
    for (const [code, type] of [['21', 'GetCert'], ['22', 'GetCRL']] as const) {
      const request = parsePkiMessage(resigned({ [ID_MESSAGE_TYPE]: printableStringValue(code) }, sealEnvelope(issuerAndSerial, ra.certificateDer, 'aes-256-cbc')), context);
      expect(request).toMatchObject({ messageType: type, contentCipher: 'aes-256-cbc', issuerAndSerial: { issuer: caName, serialNumber: 'C001' } });
    }
  });

  it('refuses a RenewalReq signed with a self-signed certificate with badCertId', () => {
    expect(failInfoOf(resigned({ [ID_MESSAGE_TYPE]: printableStringValue('17') })).failInfo).toBe('badCertId');
  });

  it('refuses a signingTime far from the server clock with badTime', () => {
    expect(failInfoOf(message, { ...context, now: new Date(Date.now() + 86_400_000) }).failInfo).toBe('badTime');
  });

  it('refuses a transactionID that is not a PrintableString, as a badRequest it cannot answer with a CertRep', () => {
    const error = failInfoOf(resigned({ [ID_TRANSACTION_ID]: octetStringValue(Buffer.from('not printable')) }));
    expect(error.failInfo).toBe('badRequest');
    expect(error.replyTo).toBeUndefined();
  });

  it('refuses a senderNonce of one byte', () => {
    expect(failInfoOf(resigned({ [ID_SENDER_NONCE]: octetStringValue(Buffer.of(1)) })).failInfo).toBe('badRequest');
  });

  it('answers bit flips all over a real message with a ScepError or with the message as signed, never another exception', () => {
    const signed = parsePkiMessage(message, context);
    for (let at = 0; at < message.length; at += 5) {
      const flipped = Buffer.from(message);
      flipped[at]! ^= 1 << at % 8;
      let request: PkiRequest;
      try {
        request = parsePkiMessage(flipped, context);
      } catch (error) {
        expect(error).toBeInstanceOf(ScepError);
        continue;
      }
      // Accepted: a flip inside an encoding the parser reads leniently, or in the signer certificate, which then no longer counts as self-signed.
      expect({ ...request, signerCertificate: undefined, signerSelfSigned: undefined }).toEqual({ ...signed, signerCertificate: undefined, signerSelfSigned: undefined });
    }
  });

  it('refuses a truncated message and trailing bytes as badRequest', () => {
    expect(failInfoOf(message.subarray(0, message.length - 10)).failInfo).toBe('badRequest');
    expect(failInfoOf(Buffer.concat([message, Buffer.of(0)])).failInfo).toBe('badRequest');
  });
});

describe("certmonger's scep-submit", () => {
  const scepSubmit = (...args: string[]) => runProgram('/usr/lib/certmonger/scep-submit', args);

  it('reads the capabilities', async () => {
    const stub = await newStub(STRONG_ALGORITHMS);
    const run = await scepSubmit('-u', stub.url, '-c');
    expect(run.status).toBe(0);
    expect(run.stdout.split('\n')).toEqual(expect.arrayContaining(['POSTPKIOperation', 'SHA-256', 'AES', 'Renewal', 'SCEPStandard']));
  });

  it('reads the RA certificate and the CA certificate from GetCACert', async () => {
    const stub = await newStub(STRONG_ALGORITHMS);
    const run = await scepSubmit('-u', stub.url, '-C');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(pem('CERTIFICATE', ra.certificateDer) + pem('CERTIFICATE', pki.caCertificate));
  });
});

describe('certmonger (0.79, Debian 12), its daemon driving scep-submit', () => {
  it('enrolls and renews under the default policy: AES-256, SHA-256, PKIOperation over GET', async () => {
    const stub = await newStub(STRONG_ALGORITHMS);
    const certmonger = new Certmonger();
    cleanups.push(() => certmonger.remove());
    const key = join(certmonger.dir, 'host.key');
    const certificate = join(certmonger.dir, 'host.pem');
    const run = await certmonger.run(
      [
        `getcert add-scep-ca -s -c test-scep -u ${stub.url}`,
        `getcert request -s -c test-scep -I host -k ${key} -f ${certificate} -N CN=host1.example.org -D host1.example.org -A 192.0.2.7 -L '${CHALLENGE}' -w --wait-timeout=60`,
        `cp ${certificate} ${certificate}.first`,
        'getcert resubmit -s -i host -w --wait-timeout=60',
      ].join('\n'),
    );
    expect(run.status, run.output).toBe(0);

    const [enrollment, renewal] = stub.accepted;
    expect(enrollment).toMatchObject({ messageType: 'PKCSReq', signerSelfSigned: true, digest: 'sha256', contentCipher: 'aes-256-cbc' });
    expect(enrollment?.messageType === 'PKCSReq' && enrollment.csr).toMatchObject({
      challengePassword: CHALLENGE,
      subjectAltNames: { dnsNames: ['host1.example.org'], ipAddresses: ['192.0.2.7'], otherNameTypes: [] },
    });
    const first = new X509Certificate(readFileSync(`${certificate}.first`));
    const second = new X509Certificate(readFileSync(certificate));
    expect(renewal).toMatchObject({ messageType: 'PKCSReq', signerSelfSigned: false });
    expect(new X509Certificate(renewal!.signerCertificate).serialNumber).toBe(first.serialNumber);
    expect(second.serialNumber).not.toBe(first.serialNumber);
    expect(verifiesWithCa(readFileSync(certificate))).toBe(true);
  });
});
