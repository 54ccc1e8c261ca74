export * from './view.js';
export { ControlServer, DEFAULT_CONTROL_SOCKET, type ControlHandler, type ControlServerOptions } from './server.js';
export { ControlClient, ControlClientError, controlSocketPath } from './client.js';
export { PROTOCOL_VERSION, MAX_MESSAGE_BYTES, type ControlRequest, type ControlResponse } from './protocol.js';
export { parseArgs, type LvsadmAction, type ListFormat } from './args.js';
export { runLvsadm, type TableAccess } from './run.js';
