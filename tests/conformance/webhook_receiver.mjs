// A Kibo application's event endpoint, built with mozu-node-sdk's own security/is-request-valid.js: it answers
// 200 to a delivery the SDK accepts and 401 to one it refuses, and prints one JSON line per request (what it
// got and the SDK's verdict). Run by tests/conformance/test_kibo_webhooks.py:
//   TB_SHARED_SECRET=whsec_... TB_PORT=8123 node webhook_receiver.mjs
import http from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const isRequestValid = require('mozu-node-sdk/security/is-request-valid');
const sharedSecret = process.env.TB_SHARED_SECRET;
const port = Number(process.env.TB_PORT);

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    req.body = Buffer.concat(chunks).toString('utf8');  // as a body-parsing middleware leaves it: a string
    isRequestValid({ sharedSecret }, req, (err) => {
      const line = { valid: !err, error: err ? String(err.message).split(',')[0] : null, path: req.url,
                     headers: req.headers, body: req.body };
      process.stdout.write(JSON.stringify(line) + '\n');
      res.writeHead(err ? 401 : 200, { 'Content-Type': 'text/plain' });
      res.end(err ? 'refused' : 'ok');
    });
  });
});
server.listen(port, '127.0.0.1', () => process.stdout.write(JSON.stringify({ listening: port }) + '\n'));
