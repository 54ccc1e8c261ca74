// ipvsadm's ipvs_strerror(): the message printed for a failed table operation, by (op, code).
import type { ControlErrorCode, ControlOp } from './view.js';

const DEST_OPS: ControlOp[] = ['add-dest', 'edit-dest', 'delete-dest'];

export function failureMessage(op: ControlOp, code: ControlErrorCode, message: string): string {
  switch (code) {
    case 'SERVICE_EXISTS': return 'Service already exists';
    case 'SCHEDULER_NOT_FOUND': return 'Scheduler or persistence engine not found';
    case 'NO_SERVICE': return DEST_OPS.includes(op) ? 'Service not defined' : 'No such service';
    case 'DEST_EXISTS': return 'Destination already exists';
    case 'NO_DEST': return 'No such destination';
    case 'PERMISSION': return 'Permission denied (you must be root)';
    case 'INVALID': return 'Invalid operation.  Possibly wrong module version, address not unicast, ...';
    case 'NO_MEMORY': return 'Memory allocation problem';
    case 'AF_NOT_SUPPORTED': return 'Operation not supported with specified address family';
    case 'DAEMON_EXISTS': return 'Daemon has already run';
    case 'NO_DAEMON': return 'No daemon is running';
    case 'NO_DEVICE': return 'No such device';
    case 'PROTOCOL_NOT_AVAILABLE': return 'Protocol not available';
    case 'INTERNAL': return message;
  }
}
