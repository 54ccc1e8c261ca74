// npm run bench [-- NAME ...]: runs every benchmark module in bench/ (each file's default export
// is an async function that prints its own section), or only the named ones.
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const skip = new Set(['run.js', 'demo.js']);
const wanted = process.argv.slice(2);
const modules = readdirSync(here)
  .filter((f) => f.endsWith('.js') && !skip.has(f) && !f.startsWith('_'))
  .filter((f) => wanted.length === 0 || wanted.includes(basename(f, '.js')))
  .sort();

for (const file of modules) {
  const mod = (await import(join(here, file))) as { default: () => Promise<void> };
  console.log(`\n=== ${basename(file, '.js')} ===`);
  await mod.default();
}
