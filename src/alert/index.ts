// src/alert public API: keepalived's email alerts (notification_email, smtp_server, smtp_alert).
export { Alerter, localIdentity } from './alerter.js';
export type { AlerterOptions, AlertCounters, AlertLogger } from './alerter.js';
export { alertPolicyOf, resolveFlag, EMPTY_POLICY } from './policy.js';
export type { AlertPolicy, AlertIds, HostIdentity, MailSettings, VsPolicy, RsPolicy } from './policy.js';
export { AlertTracker } from './tracker.js';
export type { CheckChange } from './tracker.js';
export { alertSubject, alertBody, checkerBody, quorumBody, formatVs, formatRs } from './alert.js';
export type { Alert, AlertVrrpState, AlertGroupState } from './alert.js';
export { composeMessage, rfc5322Date, envelopeAddress, headerAddress } from './message.js';
export type { MailParts } from './message.js';
export { sendMail } from './smtp-client.js';
export { ReplyReader, MAX_REPLY_BYTES } from './reply.js';
export type { ReplyEvent } from './reply.js';
export type { SmtpRequest, SmtpOutcome } from './smtp-client.js';
export { SmtpError } from './errors.js';
export type { SmtpErrorCode } from './errors.js';
