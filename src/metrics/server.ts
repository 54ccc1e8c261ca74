// The metrics endpoint (shell): GET /metrics on `metrics_listen ADDRESS:PORT`.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

export class MetricsListenError extends Error {
  readonly code = 'EMETRICSLISTEN';
}

/** "127.0.0.1:9100", "[::1]:9100" -> host and port. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:\s]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new MetricsListenError(`invalid metrics_listen "${text}": ADDRESS:PORT expected`);
  return { host: m[1]!, port };
}

export class MetricsServer {
  private readonly server: http.Server;
  constructor(private readonly registry: Registry, private readonly logger: Logger) {
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  async start(listen: string): Promise<AddressInfo> {
    const { host, port } = parseListen(listen);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => { this.server.off('error', reject); resolve(); });
    });
    const addr = this.server.address() as AddressInfo;
    this.logger.info({ address: addr.address, port: addr.port }, 'metrics listening');
    return addr;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end('not found\n');
      return;
    }
    try {
      const body = await this.registry.metrics();
      res.writeHead(200, { 'Content-Type': this.registry.contentType }).end(body);
    } catch (err) {
      this.logger.error({ err }, 'metrics collection failed');
      res.writeHead(500).end('metrics collection failed\n');
    }
  }
}
