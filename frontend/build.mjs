// Builds the board page into dist/: content-hashed JS and CSS plus
// dist/manifest.json mapping logical names (app.js, app.css) to the hashed
// files. The Go package frontend embeds dist/ and reads the manifest.
import * as esbuild from 'esbuild';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const out = 'dist';
mkdirSync(out, { recursive: true });
for (const f of readdirSync(out)) {
  if (f !== '.gitkeep') rmSync(join(out, f), { recursive: true, force: true });
}

const result = await esbuild.build({
  entryPoints: { app: 'src/main.ts' },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020'],
  outdir: out,
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const manifest = {};
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  const name = basename(file);
  const ext = name.slice(name.lastIndexOf('.'));
  if (info.entryPoint || ext === '.css') {
    manifest['app' + ext] = name;
  }
  console.log(`${name}\t${info.bytes} bytes`);
}
if (!manifest['app.js'] || !manifest['app.css']) {
  throw new Error('build did not produce app.js and app.css: ' + JSON.stringify(manifest));
}
writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
