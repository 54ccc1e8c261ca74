// The mail itself, as keepalived's core/smtp.c writes it: Date/From/Subject/X-Mailer/To headers,
// a blank line, the body, a blank line. Pure: the date comes in as epoch milliseconds and an
// offset from UTC, never from a clock read.

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** keepalived truncates the subject to 255 bytes and the body to 511 (MAX_HEADERS/BODY_LENGTH - 1). */
export const MAX_SUBJECT = 255;
export const MAX_BODY = 511;

const two = (n: number) => String(n).padStart(2, '0');

/** RFC 5322 date-time, `Mon, 01 Mar 2021 09:44:08 +0000` (strftime "%a, %d %b %Y %H:%M:%S %z"). */
export function rfc5322Date(epochMs: number, offsetMinutes: number): string {
  const t = new Date(epochMs + offsetMinutes * 60_000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const off = Math.abs(offsetMinutes);
  return (
    `${DAYS[t.getUTCDay()]}, ${two(t.getUTCDate())} ${MONTHS[t.getUTCMonth()]} ${t.getUTCFullYear()} ` +
    `${two(t.getUTCHours())}:${two(t.getUTCMinutes())}:${two(t.getUTCSeconds())} ${sign}${two(Math.floor(off / 60))}${two(off % 60)}`
  );
}

/**
 * The address for MAIL FROM / RCPT TO: `Name <a@b>` gives `<a@b>`, a bare `a@b` gives `<a@b>`
 * (keepalived mail_cmd/rcpt_cmd).
 */
export function envelopeAddress(addr: string): string {
  const lt = addr.lastIndexOf('<');
  if (addr.endsWith('>') && lt >= 0) return addr.slice(lt);
  return `<${addr}>`;
}

/**
 * An address as written in a From:/To: header. A display name with RFC 5322 specials
 * (`Smith, John <j@example.com>`) is quoted, with `"` and `\` escaped (keepalived
 * format_email_addr); anything else is kept as written.
 */
export function headerAddress(addr: string): string {
  const lt = addr.lastIndexOf('<');
  if (!addr.endsWith('>') || lt < 0) return addr;
  const name = addr.slice(0, lt).replace(/[ \t]+$/, '');
  if (!/[()<>[\]:;@\\,.]/.test(name)) return addr;
  return `"${name.replace(/["\\]/g, (c) => '\\' + c)}"${addr.slice(name.length)}`;
}

export interface MailParts {
  date: string;
  from: string;
  to: readonly string[];
  subject: string;
  body: string;
}

/** Header values must not carry line breaks (a real server's name could, through a config). */
const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ');

/**
 * What goes after DATA, up to and including the lone `.` line. Lines of the body that start with
 * `.` are doubled (RFC 5321 4.5.2); bare LFs become CRLF.
 */
export function composeMessage(m: MailParts): string {
  const to = m.to.map((a) => headerAddress(oneLine(a))).join(',\r\n ');
  const body = m.body
    .slice(0, MAX_BODY)
    .replace(/\r?\n/g, '\r\n')
    .replace(/^\./gm, '..');
  return (
    `Date: ${m.date}\r\n` +
    `From: ${headerAddress(oneLine(m.from))}\r\n` +
    `Subject: ${oneLine(m.subject).slice(0, MAX_SUBJECT)}\r\n` +
    `X-Mailer: lvsd\r\n` +
    `To: ${to}\r\n` +
    `\r\n${body}\r\n` +
    `\r\n.\r\n`
  );
}
