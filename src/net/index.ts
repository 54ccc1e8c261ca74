// src/net: every privileged network action (addresses, routes, raw sockets, GARP / NA).
export { NetError } from './errors.js';
export { addAddress, delAddress, addRoute, delRoute, sourceAddress, ifIndex, linkIsUp, listAddresses, runIp, addressArgs, routeArgs } from './iproute.js';
export type { AddressSpec, RouteSpec } from './iproute.js';
export { VrrpSocket, expand6 } from './vrrp-socket.js';
export type { RawPacket, VrrpSocketOptions } from './vrrp-socket.js';
export { sendGarp, NaSender, buildUnsolicitedNa } from './garp.js';
