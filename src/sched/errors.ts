// Errors raised by the scheduler registry and helpers. pick() never throws; these come only from
// configuration-time calls (createScheduler, update, foldAddress) so callers can report them.

export class SchedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** createScheduler() got a name that is not one of the 13 IPVS schedulers. */
export class UnknownSchedulerError extends SchedError {
  constructor(readonly schedulerName: string) {
    super('ESCHED_UNKNOWN', `unknown scheduler "${schedulerName}"`);
  }
}

/** foldAddress() got text that is neither a dotted-quad IPv4 nor an IPv6 address. */
export class InvalidAddressError extends SchedError {
  constructor(readonly text: string) {
    super('ESCHED_ADDR', `not an IPv4 or IPv6 address: ${JSON.stringify(text.slice(0, 64))}`);
  }
}

/** mh: more destinations than lookup-table slots (the kernel answers -EINVAL). */
export class TooManyDestinationsError extends SchedError {
  constructor(
    readonly count: number,
    readonly limit: number,
  ) {
    super('ESCHED_TOOMANY', `mh: ${count} destinations exceed the lookup table size ${limit}`);
  }
}

/** A SchedOptions value out of range. */
export class InvalidSchedOptionError extends SchedError {
  constructor(option: string, detail: string) {
    super('ESCHED_OPTION', `${option}: ${detail}`);
  }
}
