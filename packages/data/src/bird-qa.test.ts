import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { sharedPath } from "../../../testing/shared.js";
import { attributeValuePhrase } from "./attribute-phrases.js";
import { BirdQA, type BirdQARecord } from "./bird-qa.js";
import { CubDataset } from "./cub-dataset.js";
import { readLlavaConversations, writeLlavaConversations } from "./llava.js";
import { NABirdsDataset } from "./nabirds-dataset.js";

const subset = sharedPath("data/cub-subset-train");
const nabirdsMeta = sharedPath("data/nabirds-metadata");

describe.skipIf(!subset)("BirdQA on the real CUB subset", () => {
  let cub: CubDataset;
  let records: BirdQARecord[];
  beforeAll(async () => {
    cub = await CubDataset.open(subset!);
    records = BirdQA.fromCub(cub, { seed: 7 }).conversations("train");
  });

  it("makes one well-formed LLaVA record per training image, none for the empty test split", () => {
    expect(records.length).toBe(2999);
    expect(BirdQA.fromCub(cub).conversations("test")).toEqual([]);
    for (const r of records) {
      expect(r.conversations[0]!.value.startsWith("<image>\n")).toBe(true);
      expect(
        r.conversations
          .map((t) => t.value)
          .join("")
          .split("<image>").length,
      ).toBe(2);
      expect(r.conversations.map((t) => t.from)).toEqual(
        r.conversations.map((_, k) => (k % 2 === 0 ? "human" : "gpt")),
      );
      expect(r.conversations.length).toBe(8);
      expect(r.image).toBe(cub.get(cub.indexOf(Number(r.id))).relativePath);
    }
  });

  it("traces every answer to an annotation of the image's class", async () => {
    // Read the class attribute file independently of the loader, so the check does not trust it.
    const { readFile } = await import("node:fs/promises");
    const rows = (
      await readFile(join(subset!, "CUB_200_2011/attributes/class_attribute_labels_continuous.txt"), "utf8")
    )
      .trim()
      .split("\n")
      .map((l) => l.trim().split(/\s+/).map(Number));
    const attributes = cub.attributes!;
    const labels = new Set(cub.classes.map((c) => c.label));
    let checked = 0;
    for (const r of records) {
      const image = cub.get(cub.indexOf(Number(r.id)));
      expect(r.meta.classId).toBe(image.classId);
      r.meta.pairs.forEach((p, k) => {
        const answer = r.conversations[2 * k + 1]!.value;
        const question = r.conversations[2 * k]!.value;
        expect(answer).toBe(p.answer);
        const fact = p.fact!;
        if (p.kind === "open") expect(answer).toBe(fact.answer);
        else {
          expect(answer === "Yes").toBe(p.asked === fact.answer);
          expect(question).toContain(p.asked!);
        }
        if (fact.kind === "species") {
          expect(fact.answer).toBe(image.label);
          if (answer === "No") expect(labels.has(p.asked!) && p.asked !== image.label).toBe(true);
        } else {
          expect(fact.source).toBe("class-attributes");
          const attr = attributes[fact.attributeId! - 1]!;
          expect(fact.topic).toBe(attr.group);
          expect(fact.answer).toBe(attributeValuePhrase(attr.group, attr.value));
          const row = rows[image.classId - 1]!;
          const inGroup = attributes.filter((a) => a.group === attr.group);
          const top = row[attr.id - 1]!;
          expect(top).toBeGreaterThanOrEqual(50);
          for (const other of inGroup)
            if (other.id !== attr.id) expect(top - row[other.id - 1]!).toBeGreaterThanOrEqual(20);
          if (answer === "No") {
            const asked = inGroup.find((a) => attributeValuePhrase(a.group, a.value) === p.asked)!;
            expect(row[asked.id - 1]!).toBeLessThanOrEqual(5);
          }
        }
        checked++;
      });
    }
    expect(checked).toBe(2999 * 4);
  });

  it("balances yes and no, varies the wording, and asks attribute questions", () => {
    const yesNo = records.flatMap((r) => r.meta.pairs.filter((p) => p.kind === "yesno").map((p) => p.answer));
    expect(yesNo.length).toBeGreaterThan(2900);
    const yes = yesNo.filter((a) => a === "Yes").length / yesNo.length;
    expect(yes).toBeGreaterThan(0.45);
    expect(yes).toBeLessThan(0.55);
    const speciesQuestions = new Set(
      records.flatMap((r) =>
        r.meta.pairs.flatMap((p, k) =>
          p.kind === "open" && p.fact!.kind === "species"
            ? [r.conversations[2 * k]!.value.replace("<image>\n", "")]
            : [],
        ),
      ),
    );
    expect(speciesQuestions.size).toBeGreaterThanOrEqual(5);
    const topics = new Set(records.flatMap((r) => r.meta.pairs.map((p) => p.fact!.topic)));
    for (const t of ["species", "bill_shape", "size", "wing_color", "crown_color", "breast_pattern"])
      expect(topics.has(t)).toBe(true);
  });

  it("is deterministic for a seed and differs between seeds", () => {
    const again = BirdQA.fromCub(cub, { seed: 7 }).conversations("train");
    expect(again).toEqual(records);
    const other = BirdQA.fromCub(cub, { seed: 8 }).conversations("train");
    expect(other.map((r) => r.conversations)).not.toEqual(records.map((r) => r.conversations));
  });

  it("writes captions from decisive facts and round-trips through the LLaVA writer and reader", async () => {
    const qa = BirdQA.fromCub(cub, { seed: 7 });
    const captions = qa.captions("train");
    expect(captions.length).toBe(2999);
    const first = captions[0]!.conversations[1]!.value;
    expect(first).toMatch(/^A Black-footed Albatross, a medium bird with .+\.$/);
    expect(first).toContain("a seabird-hooked bill");
    const dir = await mkdtemp(join(tmpdir(), "birdvlm-qa-"));
    try {
      const path = join(dir, "qa.json");
      await writeLlavaConversations(path, records.slice(0, 50));
      const back = [];
      for await (const r of readLlavaConversations(path)) back.push(r);
      expect(back).toEqual(JSON.parse(JSON.stringify(records.slice(0, 50))));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const evalPairs = qa.evaluationPairs(0);
    expect(evalPairs[0]).toMatchObject({ question: "What species is this bird?", answer: "Black-footed Albatross" });
    expect(evalPairs.length).toBe(qa.facts(0).length);
  });
});

describe.skipIf(!nabirdsMeta)("BirdQA on NABirds", () => {
  it("asks species, plumage and group questions traced to the hierarchy, per split", async () => {
    const nab = await NABirdsDataset.open(nabirdsMeta!, { checkFiles: false });
    const qa = BirdQA.fromNABirds(nab.subset(Array.from({ length: 3000 }, (_, i) => i * 16)), { seed: 3 });
    const test = qa.conversations("test");
    const train = qa.conversations("train");
    expect(test.length + train.length).toBe(3000);
    const byId = new Map(Array.from({ length: nab.size }, (_, i) => nab.get(i)).map((im) => [im.imageId, im]));
    const kinds = new Set<string>();
    for (const r of [...test, ...train]) {
      const image = byId.get(r.id)!;
      expect(image.isTrain).toBe(r.meta.split === "train");
      for (const p of r.meta.pairs) {
        const f = p.fact!;
        kinds.add(f.kind);
        if (f.kind === "species") expect(f.answer).toBe(nab.speciesOf(image.classId).name);
        if (f.kind === "group") expect(nab.ancestors(image.classId).map((c) => c.name)).toContain(f.answer);
        // NABirds writes some as "Red-shouldered Hawk (Adult )" or "Blue-winged Teal  (Male)": answers are trimmed.
        if (f.kind === "plumage")
          expect(image.className.replace(/\s+/g, " ").replace(/ \)$/, ")")).toBe(
            `${nab.speciesOf(image.classId).name} (${f.answer})`,
          );
      }
    }
    expect([...kinds].sort()).toEqual(["group", "plumage", "species"]);
    const eider = nab.leafClasses().find((c) => c.id === 295)!;
    expect(eider.name).toBe("Common Eider (Adult male)");
  });
});
