// Table edit errors: a stable `code` plus ipvsadm's message for the same failure.

export type IpvsErrorCode =
  | 'EEXIST_SERVICE'
  | 'ENOENT_SERVICE'
  | 'ENOENT_SERVICE_FOR_DEST'
  | 'EEXIST_DEST'
  | 'ENOENT_DEST'
  | 'ESCHED'
  | 'EINVAL';

/** ipvsadm's text for each failure (ipvsadm.md §4), so lvsadm can print it unchanged. */
const MESSAGES: Record<IpvsErrorCode, string> = {
  EEXIST_SERVICE: 'Service already exists',
  ENOENT_SERVICE: 'No such service',
  ENOENT_SERVICE_FOR_DEST: 'Service not defined',
  EEXIST_DEST: 'Destination already exists',
  ENOENT_DEST: 'No such destination',
  ESCHED: 'Scheduler or persistence engine not found',
  EINVAL: 'Invalid operation.  Possibly wrong module version, address not unicast, ...',
};

export class IpvsError extends Error {
  readonly code: IpvsErrorCode;
  /** What went wrong in our words (the ipvsadm message is `message`). */
  readonly detail: string;
  constructor(code: IpvsErrorCode, detail = '') {
    super(MESSAGES[code]);
    this.name = 'IpvsError';
    this.code = code;
    this.detail = detail;
  }
}
