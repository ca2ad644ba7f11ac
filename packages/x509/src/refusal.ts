/** A certificate the signer will not sign or hand out; the message is one line meant for the log and the client. */
export class CertificateRefused extends Error {
  override readonly name = 'CertificateRefused';
}

export function refuse(reason: string): never {
  throw new CertificateRefused(reason.replace(/[\r\n]+/g, ' '));
}

/** Runs a check that throws a one-line error of its own (the contract's DN and email rules) and refuses with its message. */
export function refuseOnThrow(check: () => void): void {
  try {
    check();
  } catch (e) {
    refuse((e as Error).message);
  }
}
