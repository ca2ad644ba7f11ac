#!/usr/bin/env node
// CommonJS, as the bundle it loads: see bundle.mjs.
require('../dist/etoken-ca-client.js');
