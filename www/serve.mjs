// Serves www/ on localhost (static files only; sirv sets the wasm MIME type).
//   node www/serve.mjs [--port 8080] [--host 127.0.0.1]
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import sirv from "sirv";

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const root = fileURLToPath(new URL(".", import.meta.url));
const port = Number(option("--port", process.env.PORT ?? 8080));
const host = option("--host", "127.0.0.1");

// The demo runs only its own scripts and wasm: no inline script, no eval, no
// other origin. 'wasm-unsafe-eval' lets the worker compile the .wasm; blob:
// and data: images are the dropped file's preview and the results. Sent with
// every response, so the worker (whose policy comes with its script) has it too.
export const DEMO_CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  "img-src 'self' blob: data:",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * Serve `dir`'s static files. `csp`, where given, is the Content-Security-Policy
 * sent with each; `onRequest(req, res)` sees every request (the tests count them).
 */
export function serve(dir = root, listenPort = port, listenHost = host, { csp, onRequest } = {}) {
  const handler = sirv(dir, { dev: true, etag: true, setHeaders: csp === undefined ? undefined : (res) => res.setHeader("Content-Security-Policy", csp) });
  const server = createServer((req, res) => {
    onRequest?.(req, res);
    handler(req, res, () => {
      res.statusCode = 404;
      res.end("not found");
    });
  });
  return new Promise((resolve) => server.listen(listenPort, listenHost, () => resolve(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await serve(root, port, host, { csp: DEMO_CSP });
  const { port: p } = server.address();
  console.log(`upres demo: http://${host}:${p}/`);
}
