/** What the HTTP layer sends back: the core decides status, type and body, the server only writes them. */
export interface HttpAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer;
}

export function pkiMessageAnswer(reply: Buffer): HttpAnswer {
  return { status: 200, contentType: 'application/x-pki-message', body: reply };
}
