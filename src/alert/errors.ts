// Why one alert was not delivered. Alerts never throw out of the alerter: these travel as values
// (SmtpOutcome.error) and end up in the log.

export type SmtpErrorCode =
  /** TCP connect failed (refused, unreachable, name not found). */
  | 'ESMTP_CONNECT'
  /** No answer within smtp_connect_timeout (connect or any reply). */
  | 'ESMTP_TIMEOUT'
  /** The server answered a step with another code than the one expected. */
  | 'ESMTP_REPLY'
  /** The server closed the connection, or sent a reply we cannot read. */
  | 'ESMTP_PROTOCOL';

export class SmtpError extends Error {
  constructor(
    readonly code: SmtpErrorCode,
    message: string,
    /** The SMTP step that failed (keepalived's names: (E)SMTP, HELO, MAIL, RCPT, DATA, BODY, QUIT). */
    readonly step: string,
    /** The reply code when the server answered (ESMTP_REPLY). */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'SmtpError';
  }
}
