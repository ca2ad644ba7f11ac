/** The audit events of the SCEP enrollment workflow: one for every step, each carrying the transaction id. */
export const SCEP_AUDIT_EVENTS = [
  'scep.received',
  'scep.refused',
  'scep.workflow',
  'scep.repeated',
  'scep.eligibility',
  'scep.pending',
  'scep.approved',
  'scep.issued',
  'scep.failed',
  'scep.expired',
  'scep.retry',
  'scep.challenge',
  'scep.ra-cert',
  'scep.order',
] as const;
