// The mail as keepalived's core/smtp.c writes it: headers, RFC 5322 date, envelope addresses.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { composeMessage, envelopeAddress, headerAddress, rfc5322Date } from '../../src/alert/index.js';

describe('rfc5322Date', () => {
  it('formats like strftime("%a, %d %b %Y %H:%M:%S %z") in the given zone', () => {
    const t = Date.UTC(2021, 2, 1, 9, 44, 8); // Mon 1 Mar 2021 09:44:08 UTC
    expect(rfc5322Date(t, 0)).toBe('Mon, 01 Mar 2021 09:44:08 +0000');
    expect(rfc5322Date(t, 60)).toBe('Mon, 01 Mar 2021 10:44:08 +0100');
    expect(rfc5322Date(t, -570)).toBe('Mon, 01 Mar 2021 00:14:08 -0930');
    expect(rfc5322Date(t, -600)).toBe('Sun, 28 Feb 2021 23:44:08 -1000');
    expect(rfc5322Date(t, 345)).toBe('Mon, 01 Mar 2021 15:29:08 +0545');
  });

  it('parses back to the same instant for any time and whole-minute zone', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4102444800 }), fc.integer({ min: -720, max: 840 }), (sec, off) => {
        const text = rfc5322Date(sec * 1000, off);
        expect(text).toMatch(/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d [+-]\d{4}$/);
        expect(Date.parse(text)).toBe(sec * 1000);
      }),
    );
  });
});

describe('addresses', () => {
  it('takes the <...> part for the envelope, or wraps a bare address', () => {
    expect(envelopeAddress('ops@example.com')).toBe('<ops@example.com>');
    expect(envelopeAddress('Ops team <ops@example.com>')).toBe('<ops@example.com>');
    expect(envelopeAddress('a <b> <ops@example.com>')).toBe('<ops@example.com>');
  });

  it('quotes a display name with RFC 5322 specials, escaping " and \\', () => {
    expect(headerAddress('ops@example.com')).toBe('ops@example.com');
    expect(headerAddress('Ops team <ops@example.com>')).toBe('Ops team <ops@example.com>');
    expect(headerAddress('Smith, John <j@example.com>')).toBe('"Smith, John" <j@example.com>');
    expect(headerAddress('J. "Q" \\ Smith <j@example.com>')).toBe('"J. \\"Q\\" \\\\ Smith" <j@example.com>');
  });
});

describe('composeMessage', () => {
  it('writes Date, From, Subject, X-Mailer, To (one recipient per line), a blank line, the body, a blank line, the end', () => {
    const m = composeMessage({
      date: 'Mon, 01 Mar 2021 09:44:08 +0000',
      from: 'lvsd@lb1.example.com',
      to: ['ops@example.com', 'Smith, John <j@example.com>'],
      subject: '[lb1] VRRP Instance VI_1 - Entering MASTER state',
      body: '=> VRRP Instance is now owning VRRP VIPs <=',
    });
    expect(m).toBe(
      'Date: Mon, 01 Mar 2021 09:44:08 +0000\r\n' +
        'From: lvsd@lb1.example.com\r\n' +
        'Subject: [lb1] VRRP Instance VI_1 - Entering MASTER state\r\n' +
        'X-Mailer: lvsd\r\n' +
        'To: ops@example.com,\r\n "Smith, John" <j@example.com>\r\n' +
        '\r\n' +
        '=> VRRP Instance is now owning VRRP VIPs <=\r\n' +
        '\r\n.\r\n',
    );
  });

  it('never ends the DATA early and never lets a header run onto a new line, whatever the texts', () => {
    const text = fc.string({ unit: fc.constantFrom('a', '.', '\r', '\n', ' ', ':', '<', '>') });
    fc.assert(
      fc.property(text, text, text, (subject, body, to) => {
        const m = composeMessage({ date: 'd', from: 'f@x', to: [to], subject, body });
        expect(m.endsWith('\r\n.\r\n')).toBe(true);
        // The only lone "." line is the last one.
        expect(m.slice(0, -3).split('\r\n').includes('.')).toBe(false);
        const head = m.slice(0, m.indexOf('\r\n\r\n'));
        const lines = head.split('\r\n');
        // Date, From, Subject, X-Mailer, To: nothing more (a body or subject CR/LF cannot add headers).
        expect(lines.map((l) => l.split(':')[0])).toEqual(['Date', 'From', 'Subject', 'X-Mailer', 'To']);
      }),
    );
  });
});
