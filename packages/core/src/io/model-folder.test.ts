import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tf } from "../tf.js";
import { openModelFolder, writeModelFolder } from "./model-folder.js";
import { readAllTensors } from "./safetensors/source-reader.js";
import { writeModelFolder as pageWriteModelFolder } from "./model-folder-url.js";

const tmp = mkdtempSync(join(tmpdir(), "birdvlm-model-folder-"));
const dir = join(tmp, "model");
let server: Server;
let url: string;

beforeAll(async () => {
  const w = tf.tensor([1, 2, 3, 4], [2, 2]);
  await writeModelFolder(dir, {
    text: { "config.json": '{"a":1}\n' },
    safetensors: { "model.safetensors": { tensors: { w }, metadata: { format: "pt" } } },
  });
  w.dispose();
  server = createServer((req, res) => {
    readFile(join(dir, req.url!.split("/").pop()!))
      .then((b) => res.end(b))
      .catch(() => {
        res.statusCode = 404;
        res.end();
      });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/model`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(tmp, { recursive: true, force: true });
});

describe("openModelFolder", () => {
  for (const [kind, location] of [
    ["a directory", () => dir],
    ["a file: URL", () => pathToFileURL(dir).href],
    ["an http URL", () => url],
  ] as const) {
    it(`reads the folder writeModelFolder wrote, from ${kind}`, async () => {
      const folder = openModelFolder(location());
      expect(JSON.parse(await folder.readText("config.json"))).toEqual({ a: 1 });
      const weights = await folder.openWeights();
      expect(weights.metadata).toEqual({ format: "pt" });
      const { w } = await readAllTensors(weights);
      expect(await w!.array()).toEqual([
        [1, 2],
        [3, 4],
      ]);
      w!.dispose();
    });
  }

  it("names the missing file", async () => {
    await expect(openModelFolder(url).readText("nope.json")).rejects.toThrow(/\/model\/nope\.json: HTTP 404/);
    await expect(openModelFolder(dir).readText("nope.json")).rejects.toThrow(/ENOENT.*model\/nope\.json/);
  });

  it("refuses to write in a page", async () => {
    await expect(pageWriteModelFolder("x", {})).rejects.toThrow(/needs Node/);
  });
});
