// Errors of the nft engine, each with a stable code.

export class NftError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** TUN needs the kernel's ipip module, which this kernel lacks. */
export class TunUnsupportedError extends NftError {
  constructor(detail: string) {
    super('ENFTTUN', `TUN forwarding needs IP-in-IP tunnelling, which this kernel lacks (${detail})`);
  }
}

/** A command (nft, ip, conntrack) failed. */
export class NftCommandError extends NftError {
  constructor(readonly command: string, readonly stderr: string) {
    super('ENFTCMD', `${command} failed: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
}

/** The native NFQUEUE helper could not be built or started. */
export class NftNativeError extends NftError {
  constructor(detail: string) {
    super('ENFTNATIVE', `NFQUEUE helper: ${detail}`);
  }
}

/** A service the engine cannot program (bad address, both vip and fwmark, ...). */
export class NftServiceError extends NftError {
  constructor(readonly serviceId: string, detail: string) {
    super('ENFTSVC', `service ${serviceId}: ${detail}`);
  }
}
