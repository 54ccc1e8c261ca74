// Errors from privileged network work, with stable codes.
export class NetError extends Error {
  constructor(
    readonly code: 'ENETCMD' | 'ENETIF' | 'ENETSOCK' | 'ENETGARP',
    message: string,
  ) {
    super(message);
    this.name = 'NetError';
  }
}
