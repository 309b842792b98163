#!/usr/bin/env node
// kubectl's plugin completion hook (`kubectl skoop <TAB>` runs `kubectl_complete-skoop WORDS…`):
// the same answers as `skoop __complete WORDS…`.
import process from 'node:process';

process.argv.splice(2, 0, '__complete');
await import('./skoop.js');
