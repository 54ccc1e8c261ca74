// The proxy forwarding engine: full-NAT TCP/UDP relay driven by the ipvs table.
export { ProxyEngine, type ProxyEngineOptions, type ProxyCounters, type ProxyEngineEvent } from './engine.js';
export { proxyHeaderV1, proxyHeaderV2, type ProxiedEndpoints } from './proxy-header.js';
export { TcpRelay, type RelayEnd, type RelayState, type RelayTarget } from './tcp-relay.js';
