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

export function serve(dir = root, listenPort = port, listenHost = host) {
  const handler = sirv(dir, { dev: true, etag: true });
  const server = createServer((req, res) => handler(req, res, () => {
    res.statusCode = 404;
    res.end("not found");
  }));
  return new Promise((resolve) => server.listen(listenPort, listenHost, () => resolve(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await serve();
  const { port: p } = server.address();
  console.log(`upres demo: http://${host}:${p}/`);
}
