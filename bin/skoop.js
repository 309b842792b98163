#!/usr/bin/env node
// Bootstrap shim: runs the compiled CLI (npm run build), or the TypeScript source through tsx when
// running from a checkout that has not been built.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { setFlagsFromString } from 'node:v8';

// A diagnosis reads the whole cluster into memory, where it stays until the process exits. With
// V8's default heap growth the old generation is marked again and again while it fills (a 160 MB
// snapshot: four mark-compacts, about 0.4 s of GC work); letting it grow steeply after the first
// one avoids that (bench/diagnose.ts: -10% CPU and wall time, +1% peak RSS). Not for --http, which
// keeps serving: a long-lived process keeps V8's default.
if (!process.argv.some((a) => a === '--http' || a.startsWith('--http=')))
  setFlagsFromString('--heap-growing-percent=6000');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'main.js');
if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src', 'main.ts')).href);
}
