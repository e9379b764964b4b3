import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sharedPath } from "../../../testing/shared.js";
import { type LlavaRecord, readLlavaConversations, writeLlavaConversations } from "./llava.js";

const examples = sharedPath("data/llava-format-examples");
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "birdvlm-llava-"));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function collect(path: string, options?: Parameters<typeof readLlavaConversations>[1]): Promise<LlavaRecord[]> {
  const out: LlavaRecord[] = [];
  for await (const r of readLlavaConversations(path, options)) out.push(r);
  return out;
}

describe.skipIf(!examples)("readLlavaConversations on LLaVA's own files", () => {
  it("streams the ScienceQA json array: 4,241 records, 2,017 with an image", async () => {
    const records = await collect(join(examples!, "scienceqa_llava_test_CQM-A.json"));
    expect(records.length).toBe(4241);
    expect(records.filter((r) => r.image !== undefined).length).toBe(2017);
    expect(records[0]).toMatchObject({ id: "4", conversations: [{ from: "human" }, { from: "gpt", value: "B" }] });
    expect(records[1]!.image).toBe("5/image.png");
    expect(records[1]!.conversations[0]!.value.startsWith("<image>\n")).toBe(true);
  });

  it("rejects the COCO QA jsonl (not in the conversations format) naming record and line, and reads it through map", async () => {
    const path = join(examples!, "coco2014_val_gpt4_qa_30x3.jsonl");
    await expect(collect(path)).rejects.toThrow(
      /coco2014_val_gpt4_qa_30x3\.jsonl:1: record 0 \(id "000000525439"\): 'conversations' must be a non-empty array/,
    );
    const records = await collect(path, {
      map: (raw) => {
        const r = raw as { id: string; image: string; instruction: string; output: string };
        return {
          id: r.id,
          image: r.image,
          conversations: [
            { from: "human", value: `<image>\n${r.instruction}` },
            { from: "gpt", value: r.output },
          ],
        };
      },
    });
    expect(records.length).toBe(90);
    expect(records[0]!.conversations[0]!.value).toBe("<image>\nWhat is the position of the skateboard in the image?");
  });
});

describe("readLlavaConversations validation and writeLlavaConversations", () => {
  const good: LlavaRecord[] = [
    {
      id: "a",
      image: "x.jpg",
      conversations: [
        { from: "human", value: "<image>\nWhat bird?" },
        { from: "gpt", value: "A crow." },
      ],
    },
    {
      id: "b",
      conversations: [
        { from: "human", value: "Hello" },
        { from: "gpt", value: "Hi" },
      ],
      meta: { k: 1 },
    },
  ];

  it("round-trips records through json and jsonl, keeping extra fields", async () => {
    for (const name of ["r.json", "r.jsonl"]) {
      const path = join(dir, name);
      expect(await writeLlavaConversations(path, good)).toBe(2);
      expect(await collect(path)).toEqual(good);
    }
    const empty = join(dir, "empty.json");
    await writeLlavaConversations(empty, []);
    expect(await collect(empty)).toEqual([]);
  });

  it("names the record index of each kind of bad record", async () => {
    const cases: Array<[unknown, RegExp]> = [
      [
        { id: "c", conversations: [{ from: "robot", value: "x" }] },
        /record 2 \(id "c"\): conversations\[0\]\.from must be 'human' or 'gpt', got "robot"/,
      ],
      [
        { id: "d", image: "d.jpg", conversations: [{ from: "human", value: "<image> <image>" }] },
        /record 2 \(id "d"\): has 2 <image> placeholders/,
      ],
      [
        { id: "e", conversations: [{ from: "human", value: "<image> what?" }] },
        /record 2 \(id "e"\): has an <image> placeholder but no 'image' field/,
      ],
      [{ conversations: [{ from: "human", value: "x" }] }, /record 2: 'id' must be a string, got nothing/],
      [
        { id: "f", conversations: [{ from: "gpt", value: 3 }] },
        /record 2 \(id "f"\): conversations\[0\]\.value must be a string/,
      ],
    ];
    for (const [bad, message] of cases) {
      const path = join(dir, "bad.json");
      await writeFile(path, JSON.stringify([...good, bad]));
      await expect(collect(path)).rejects.toThrow(message);
      const lines = join(dir, "bad.jsonl");
      await writeFile(lines, [...good, bad].map((r) => JSON.stringify(r)).join("\n"));
      await expect(collect(lines)).rejects.toThrow(new RegExp(`bad\\.jsonl:3: ${message.source}`));
    }
    await expect(
      writeLlavaConversations(join(dir, "w.json"), [good[0]!, { id: "g" } as unknown as LlavaRecord]),
    ).rejects.toThrow(/record 1 \(id "g"\)/);
  });

  it("names a JSON syntax error", async () => {
    const path = join(dir, "cut.json");
    await writeFile(path, JSON.stringify(good).slice(0, -30));
    await expect(collect(path)).rejects.toThrow(
      /cut\.json:1: invalid JSON array after record 0: syntax error at byte \d+ \(line 1, column \d+\): the file ends inside a string/,
    );
    // a syntax error in the middle, in the first record: its byte, line and column, never "after record -1"
    const mid = join(dir, "mid.json");
    await writeFile(mid, `[\n  {"id": "a",\n   "conversations": [}\n]`);
    await expect(collect(mid)).rejects.toThrow(
      /mid\.json:3: invalid JSON array before the first record: syntax error at byte 37 \(line 3, column 22\): expected a value, got "}"/,
    );
    const lines = join(dir, "cut.jsonl");
    await writeFile(lines, `${JSON.stringify(good[0])}\n{"id": "x", "conv`);
    await expect(collect(lines)).rejects.toThrow(/cut\.jsonl:2: record 1: invalid JSON/);
  });

  it("streams a large generated file with bounded memory", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    /** Heap still reachable: what the reader holds, not garbage awaiting collection. */
    const retained = (): number => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    const n = 50_000;
    async function* many(): AsyncGenerator<LlavaRecord> {
      for (let i = 0; i < n; i++) {
        yield {
          id: `GCC_train_${String(i).padStart(9, "0")}`,
          image: `GCC_train_${i}.jpg`,
          conversations: [
            { from: "human", value: "Render a clear and concise summary of the photo.\n<image>" },
            {
              from: "gpt",
              value: `a small bird number ${i} perched on a branch with a long description of its plumage and the weather around it, ${"x".repeat(200)}`,
            },
          ],
        };
      }
    }
    for (const name of ["big.json", "big.jsonl"]) {
      const path = join(dir, name);
      expect(await writeLlavaConversations(path, many())).toBe(n);
      const bytes = (await stat(path)).size;
      expect(bytes).toBeGreaterThan(20e6);
      const base = retained();
      let peak = 0;
      let count = 0;
      for await (const r of readLlavaConversations(path)) {
        if (count % 10_000 === 5000) peak = Math.max(peak, retained() - base);
        if (count === n - 1) expect(r.id).toBe(`GCC_train_${String(n - 1).padStart(9, "0")}`);
        count++;
      }
      expect(count).toBe(n);
      // JSON.parse of the whole file would hold the text and every record: well over the file's size.
      expect(peak).toBeLessThan(bytes / 5);
      await rm(path);
    }
  });
});
