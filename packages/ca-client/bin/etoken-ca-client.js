#!/usr/bin/env node
import '../dist/etoken-ca-client.js';
