// `npm run bench -- NAME`: runs bench/NAME.ts, which writes its results to bench/results/.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const name = process.argv[2];
const available = readdirSync(fileURLToPath(new URL('.', import.meta.url)))
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''));
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- NAME   (one of: ${available.join(', ')})`);
  process.exit(2);
}
const bench = (await import(`./${name}.bench.ts`)) as { run(args: string[]): Promise<void> };
await bench.run(process.argv.slice(3));
