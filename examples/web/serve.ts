// A static server for the web demo (examples/web): the built page at /, a model folder at /model/. It sends
// COOP/COEP headers, so the page is cross-origin isolated and the wasm backend runs threaded.
//
//   npx tsx examples/web/build.ts                        # writes examples/web/dist
//   npx tsx examples/web/serve.ts --model out/demo/model/encoder [--port 8080]
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".jpg": "image/jpeg",
  ".png": "image/png",
};

/** A running server: its base URL (`http://127.0.0.1:<port>/`) and how to stop it. */
export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `routes` (URL prefix → folder, e.g. `{ "/": dist, "/model/": modelDir }`) on 127.0.0.1 (`port` 0: a
 * random free one). Paths outside a route's folder, and anything that is not a regular file, are 404.
 */
export async function serveStatic(routes: Record<string, string>, port = 0): Promise<StaticServer> {
  const prefixes = Object.keys(routes).sort((a, b) => b.length - a.length);
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
      const prefix = prefixes.find((p) => path.startsWith(p));
      const root = prefix === undefined ? undefined : resolve(routes[prefix]!);
      let file = root && normalize(join(root, path.slice(prefix!.length)));
      if (file && (await stat(file).catch(() => undefined))?.isDirectory()) file = join(file, "index.html");
      const info = file && (file === root || file.startsWith(root + sep)) && (await stat(file).catch(() => undefined));
      res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
      res.setHeader("Cross-Origin-Embedder-Policy", "require-corp");
      if (!info || !info.isFile()) {
        res.writeHead(404).end("not found");
        return;
      }
      res.writeHead(200, {
        "Content-Type": TYPES[extname(file!)] ?? "application/octet-stream",
        "Content-Length": info.size,
        "Cache-Control": "no-cache",
      });
      createReadStream(file!).pipe(res);
    })();
  });
  await new Promise<void>((done) => server.listen(port, "127.0.0.1", done));
  const { port: bound } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${bound}/`,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { parseArgs } = await import("node:util");
  const usage = "usage: npx tsx examples/web/serve.ts --model <ViT folder (timm)> [--dist <page>] [--port <n>]";
  const { values } = parseArgs({
    options: {
      model: { type: "string" },
      dist: { type: "string" },
      port: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || !values.model) {
    (values.help ? console.log : console.error)(usage);
    process.exit(values.help ? 0 : 2);
  }
  const dist = values.dist ?? fileURLToPath(new URL("./dist/", import.meta.url));
  const server = await serveStatic({ "/": dist, "/model/": values.model! }, Number(values.port ?? 8080));
  console.log(`BirdVLM web demo: ${server.url} (page ${dist}, model ${values.model})`);
}
