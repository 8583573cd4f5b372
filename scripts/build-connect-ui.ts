/**
 * Builds the Connect UI (ui/connect-ui) into dist/connect-ui: one script and one stylesheet under
 * content-hashed names in assets/, and index.html naming them. Run by `npm run build`, so the
 * package ships built files and users never build at install. `--quiet` prints nothing; otherwise
 * it prints the sizes (raw and gzip).
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SOURCE = join(ROOT, 'ui', 'connect-ui');

/** Builds into `outDir` (default dist/connect-ui); writes index.html last and atomically, so a reader never sees a page naming missing assets. */
export async function buildConnectUi(outDir = join(ROOT, 'dist', 'connect-ui'), options: { clean?: boolean } = {}) {
  if (options.clean) rmSync(outDir, { recursive: true, force: true });
  const assets = join(outDir, 'assets');
  mkdirSync(assets, { recursive: true });
  const result = await build({
    entryPoints: [join(SOURCE, 'main.ts'), join(SOURCE, 'style.css')],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome120', 'firefox120', 'safari16'],
    entryNames: '[name]-[hash]',
    outdir: assets,
    metafile: true,
    logLevel: 'silent',
    legalComments: 'none',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
  const script = outputs.find((file) => file.startsWith('main-') && file.endsWith('.js'));
  const style = outputs.find((file) => file.startsWith('style-') && file.endsWith('.css'));
  if (!script || !style) throw new Error('esbuild did not produce the Connect UI script and stylesheet');
  const html = readFileSync(join(SOURCE, 'index.html'), 'utf8').replace('%SCRIPT%', script).replace('%STYLE%', style);
  const temporary = join(outDir, `.index-${process.pid}.html`);
  writeFileSync(temporary, html);
  renameSync(temporary, join(outDir, 'index.html'));
  return [script, style, 'index.html'].map((file) => {
    const bytes = readFileSync(file === 'index.html' ? join(outDir, file) : join(assets, file));
    return { file, bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const sizes = await buildConnectUi(undefined, { clean: true });
  if (!process.argv.includes('--quiet')) {
    for (const { file, bytes, gzip } of sizes) console.log(`connect-ui ${file}: ${bytes} bytes (${gzip} gzip)`);
  }
}
