#!/usr/bin/env node
// The package's command: runs the compiled CLI (`npm run build` makes dist/).
import '../dist/main/cli.js';
