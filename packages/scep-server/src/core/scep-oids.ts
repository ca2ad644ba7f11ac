/** RFC 8894 §3.2.1: the SCEP authenticated attributes, under id-VeriSign pki attributes. */
const SCEP_ATTRIBUTE = '2.16.840.1.113733.1.9';

export const ID_MESSAGE_TYPE = `${SCEP_ATTRIBUTE}.2`;
export const ID_PKI_STATUS = `${SCEP_ATTRIBUTE}.3`;
export const ID_FAIL_INFO = `${SCEP_ATTRIBUTE}.4`;
export const ID_SENDER_NONCE = `${SCEP_ATTRIBUTE}.5`;
export const ID_RECIPIENT_NONCE = `${SCEP_ATTRIBUTE}.6`;
export const ID_TRANSACTION_ID = `${SCEP_ATTRIBUTE}.7`;

/** RFC 5652 attributes every signed SCEP message carries, and signingTime, which some clients add. */
export const ID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
export const ID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
export const ID_SIGNING_TIME = '1.2.840.113549.1.9.5';

export const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
