import { describe, expect, it } from 'vitest';
import { eventMessage } from './event-message.js';

const AT = new Date('2030-01-02T03:04:05Z');

describe('eventMessage', () => {
  it('describes a known event and passes plain details as ETOKEN_CA_ variables', () => {
    const m = eventMessage('token.removed', { tokenSerial: 'abc', reason: 'presence check: CKR_GENERAL_ERROR', attempts: 2 }, 'ca1', AT);
    expect(m.subject).toBe('[etoken-ca] token.removed on ca1');
    expect(m.env).toEqual({
      ETOKEN_CA_EVENT: 'token.removed',
      ETOKEN_CA_MESSAGE: expect.stringContaining('signing has stopped'),
      ETOKEN_CA_HOST: 'ca1',
      ETOKEN_CA_TIME: '2030-01-02T03:04:05.000Z',
      ETOKEN_CA_TOKEN_SERIAL: 'abc',
      ETOKEN_CA_REASON: 'presence check: CKR_GENERAL_ERROR',
      ETOKEN_CA_ATTEMPTS: '2',
    });
    expect(m.text).toContain('tokenSerial: abc\n');
  });

  it('takes a caller message for other events, and keeps control characters and odd names out', () => {
    const m = eventMessage('crl.expiring', { message: 'CRL expires\nsoon', 'bad-key': 'x', nested: { a: 1 }, EVENT: 'spoof' }, 'ca1', AT);
    expect(m.env.ETOKEN_CA_MESSAGE).toBe('CRL expires soon');
    expect(m.env.ETOKEN_CA_EVENT).toBe('crl.expiring');
    expect(Object.keys(m.env)).not.toContain('ETOKEN_CA_BAD-KEY');
    expect(Object.keys(m.env)).not.toContain('ETOKEN_CA_NESTED');
    expect(eventMessage('Evil;rm', {}, 'h', AT).event).toBe('unknown');
  });
});
