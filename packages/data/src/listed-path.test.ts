import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CubDataset } from "./cub-dataset.js";
import { DataFormatError } from "./data-format-error.js";
import { ImagePipeline } from "./image-pipeline.js";
import { escapingPathReason, readRegularFile, resolveListedPath } from "./listed-path.js";
import { readLlavaConversations } from "./llava.js";
import { NABirdsDataset } from "./nabirds-dataset.js";

describe("escapingPathReason", () => {
  it("accepts relative paths that stay inside, `..` included", () => {
    for (const ok of ["a.jpg", "001.Albatross/a.jpg", "a/../b.jpg", "./a.jpg", "a/./b/../c.jpg"])
      expect(escapingPathReason(ok), ok).toBeUndefined();
  });

  it("refuses paths that leave the root, absolute paths, folders, empty and NUL", () => {
    for (const bad of ["../a.jpg", "a/../../b.jpg", "..", "/etc/passwd", "C:/x.jpg", "", "a\0b", ".", "a/"])
      expect(escapingPathReason(bad), JSON.stringify(bad)).toMatch(/outside|absolute|empty|NUL|folder/);
  });

  it("resolveListedPath names the list file and line", () => {
    expect(() => resolveListedPath("/data", "../../etc/passwd", "/data/list.txt", 7)).toThrow(
      /\/data\/list\.txt:7: .*outside/,
    );
    expect(resolveListedPath("/data", "a/../b.jpg", "/data/list.txt", 1)).toBe("/data/b.jpg");
  });
});

describe("lists and records from strangers", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "birdvlm-listed-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** A two-image CUB folder with `images.txt` lines `lines`; image files written for `a/1.jpg`, `a/2.jpg`. */
  async function cub(name: string, lines: string[]): Promise<string> {
    const dir = join(root, name, "CUB_200_2011");
    await mkdir(join(dir, "images", "a"), { recursive: true });
    const jpg = await sharp({ create: { width: 8, height: 8, channels: 3, background: "#888" } })
      .jpeg()
      .toBuffer();
    await writeFile(join(dir, "images", "a", "1.jpg"), jpg);
    await writeFile(join(dir, "images", "a", "2.jpg"), jpg);
    await writeFile(join(dir, "images.txt"), lines.map((l) => `${l}\n`).join(""));
    await writeFile(join(dir, "classes.txt"), "1 001.A\n");
    await writeFile(join(dir, "image_class_labels.txt"), "1 1\n2 1\n");
    await writeFile(join(dir, "train_test_split.txt"), "1 1\n2 0\n");
    return join(root, name);
  }

  it("a CUB images.txt line climbing out of the folder is an error naming file and line, even without file checks", async () => {
    const dir = await cub("climb", ["1 a/1.jpg", "2 a/../../../../etc/passwd"]);
    for (const checkFiles of [true, false]) {
      const err = await CubDataset.open(dir, { checkFiles }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataFormatError);
      expect((err as DataFormatError).message).toMatch(/images\.txt:2: .*leads outside/);
    }
    const abs = await cub("absolute", ["1 a/1.jpg", "2 /etc/passwd"]);
    await expect(CubDataset.open(abs, { checkFiles: false })).rejects.toThrow(/images\.txt:2: .*absolute/);
  });

  it("a NABirds images.txt line climbing out is an error naming file and line", async () => {
    const dir = join(root, "nabirds");
    await mkdir(join(dir, "images"), { recursive: true });
    await writeFile(join(dir, "images.txt"), "x1 0001/a.jpg\nx2 ../../secret.jpg\n");
    await writeFile(join(dir, "classes.txt"), "0 Birds\n1 Duck\n");
    await writeFile(join(dir, "hierarchy.txt"), "1 0\n");
    await writeFile(join(dir, "image_class_labels.txt"), "x1 1\nx2 1\n");
    await writeFile(join(dir, "train_test_split.txt"), "x1 1\nx2 0\n");
    await expect(NABirdsDataset.open(dir, { checkFiles: false })).rejects.toThrow(/images\.txt:2: .*leads outside/);
  });

  it("a listed image that is a folder, a device link or a link out of the folder counts as missing", async () => {
    const dir = await cub("links", ["1 a/1.jpg", "2 a/2.jpg", "3 a/dev.jpg", "4 a/out.jpg", "5 a/sub"]);
    const images = join(dir, "CUB_200_2011", "images", "a");
    await writeFile(join(dir, "CUB_200_2011", "image_class_labels.txt"), "1 1\n2 1\n3 1\n4 1\n5 1\n");
    await writeFile(join(dir, "CUB_200_2011", "train_test_split.txt"), "1 1\n2 1\n3 1\n4 1\n5 1\n");
    await symlink("/dev/zero", join(images, "dev.jpg"));
    await writeFile(join(root, "outside.jpg"), "x");
    await symlink(join(root, "outside.jpg"), join(images, "out.jpg"));
    await mkdir(join(images, "sub"));
    const err = await CubDataset.open(dir).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/3 of 5 listed images are missing.*line 3 \(a\/dev\.jpg\).*line 4.*line 5/);
    // a link that stays inside is an image like any other
    await rm(join(images, "out.jpg"));
    await symlink(join(images, "1.jpg"), join(images, "out.jpg"));
    await expect(CubDataset.open(dir)).rejects.toThrow(/2 of 5 listed images are missing/);
  });

  it("a list file that is a device is refused before it is read", async () => {
    const dir = await cub("devlist", ["1 a/1.jpg", "2 a/2.jpg"]);
    await rm(join(dir, "CUB_200_2011", "train_test_split.txt"));
    await symlink("/dev/zero", join(dir, "CUB_200_2011", "train_test_split.txt"));
    await expect(CubDataset.open(dir)).rejects.toThrow(/train_test_split\.txt: only regular files are read/);
  }, 5000);

  it("the image pipeline reads only regular files, up to its size cap, and never blocks on a pipe", async () => {
    const pipe = new ImagePipeline({ size: 8, maxFileBytes: 1000 });
    await expect(pipe.load("/dev/zero")).rejects.toThrow(
      /\/dev\/zero: only regular files are read, this is a character device/,
    );
    const big = join(root, "big.jpg");
    await writeFile(big, Buffer.alloc(1001));
    await expect(pipe.load(big)).rejects.toThrow(/big\.jpg: is 1001 bytes, over the limit of 1000/);
    const fifo = join(root, "fifo.jpg");
    execFileSync("mkfifo", [fifo]);
    await expect(readRegularFile(fifo)).rejects.toThrow(/only regular files are read, this is a named pipe/);
  }, 5000);

  it("a LLaVA record whose image leaves the image folder is an error naming file and record", async () => {
    const json = join(root, "chat.json");
    const turn = [
      { from: "human", value: "<image>\nWhat bird?" },
      { from: "gpt", value: "A duck." },
    ];
    await writeFile(
      json,
      JSON.stringify([
        { id: "a", image: "x/1.jpg", conversations: turn },
        { id: "b", image: "../../home/user/secret.jpg", conversations: turn },
      ]),
    );
    const read = async (): Promise<void> => {
      for await (const _ of readLlavaConversations(json));
    };
    await expect(read()).rejects.toThrow(/chat\.json: record 1 \(id "b"\): .*leads outside/);
    const jsonl = join(root, "chat.jsonl");
    await writeFile(jsonl, `${JSON.stringify({ id: "c", image: "/etc/passwd", conversations: turn })}\n`);
    await expect(
      (async () => {
        for await (const _ of readLlavaConversations(jsonl));
      })(),
    ).rejects.toThrow(/chat\.jsonl:1: record 0 \(id "c"\): .*absolute/);
  });
});
