/** RFC 8894 §3.2.1.2 messageType values, §3.2.1.3 pkiStatus values. */
export const REQUEST_MESSAGE_TYPES = {
  RenewalReq: '17',
  PKCSReq: '19',
  CertPoll: '20',
  GetCert: '21',
  GetCRL: '22',
} as const;

export type RequestMessageType = keyof typeof REQUEST_MESSAGE_TYPES;

export const CERT_REP = '3';

export const PKI_STATUS = { SUCCESS: '0', FAILURE: '2', PENDING: '3' } as const;

export function requestMessageType(code: string): RequestMessageType | undefined {
  return (Object.keys(REQUEST_MESSAGE_TYPES) as RequestMessageType[]).find((type) => REQUEST_MESSAGE_TYPES[type] === code);
}
