// A mail sink as its own process, for tests that need it inside a network namespace:
// `node sink-main.js HOST PORT` prints "listening" then one JSON line per mail received.
import { MailSink } from './mail-sink.js';

const [host = '127.0.0.1', port = '2525'] = process.argv.slice(2);
const sink = new MailSink();
sink.onMail = (m) => process.stdout.write(JSON.stringify(m) + '\n');
await sink.start(host, Number(port));
process.stdout.write(JSON.stringify({ listening: sink.port }) + '\n');
process.on('SIGTERM', () => void sink.close().then(() => process.exit(0)));
