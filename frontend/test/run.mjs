// npm test: bundles each test/*.test.ts with esbuild (for node) into
// node_modules/.cache/tbhost-tests/ and runs them with node's test runner.
// Times are written in local time: the tests run in UTC and in a zone
// with a half-hour offset and summer time (TZ is read at start).
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const here = new URL('.', import.meta.url).pathname;
const out = join(here, '..', 'node_modules', '.cache', 'tbhost-tests');
rmSync(out, { recursive: true, force: true });
const entries = readdirSync(here).filter((f) => f.endsWith('.test.ts')).map((f) => join(here, f));
if (!entries.length) throw new Error('no test/*.test.ts');
await esbuild.build({
  entryPoints: entries,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: ['node20'],
  outdir: out,
  outExtension: { '.js': '.mjs' },
  sourcemap: 'inline',
  logLevel: 'warning',
});
const files = readdirSync(out).filter((f) => f.endsWith('.mjs')).map((f) => join(out, f));
let failed = false;
for (const tz of ['UTC', 'Australia/Adelaide']) {
  console.log(`# TZ=${tz}`);
  const r = spawnSync(process.execPath, ['--enable-source-maps', '--test', ...files], { stdio: 'inherit', env: { ...process.env, TZ: tz } });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
