// Child script: a TCP server on 127.0.0.1 that greets each connection and then stays idle.
// Prints its port; runs until its stdin closes.
import net from 'node:net';

const server = net.createServer((s) => {
  s.on('error', () => undefined);
  s.write('hi\n');
});
server.listen(0, '127.0.0.1', 8192, () => console.log((server.address() as net.AddressInfo).port));
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
