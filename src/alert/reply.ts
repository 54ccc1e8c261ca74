// SMTP replies out of the bytes a server sends (RFC 5321 4.2): lines `NNN text` or, before the
// last line of a multi-line reply, `NNN-text`. Pure; the server's bytes are untrusted, so a line
// that is not a reply or a reply too long is an error value, never a throw.

export type ReplyEvent = { status: number; text: string } | { error: string };

/** No server we talk to sends more than this before a line ends. */
export const MAX_REPLY_BYTES = 64 * 1024;

export class ReplyReader {
  private buf = '';

  /** Feeds bytes (latin1 text); returns the replies completed by them, in order. */
  push(chunk: string): ReplyEvent[] {
    this.buf += chunk;
    const out: ReplyEvent[] = [];
    for (;;) {
      const eol = this.buf.indexOf('\n');
      if (eol < 0) {
        if (this.buf.length > MAX_REPLY_BYTES) out.push({ error: `a reply line over ${MAX_REPLY_BYTES} bytes` });
        return out;
      }
      const line = this.buf.slice(0, eol).replace(/\r$/, '');
      this.buf = this.buf.slice(eol + 1);
      if (!/^[2-5]\d\d([ -]|$)/.test(line)) {
        out.push({ error: `'${line.slice(0, 80)}' is not an SMTP reply` });
        continue;
      }
      if (line[3] === '-') continue; // the code that counts is on the last line
      out.push({ status: Number(line.slice(0, 3)), text: line.slice(4) });
    }
  }
}
