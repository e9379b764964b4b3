import { it } from "vitest";
import { VisionTransformer } from "@birdvlm/vit";
import { loadBirdTasks } from "./bird-tasks.js";
import { ImageTable } from "./image-table.js";
import { classifierAccuracy, trainEncoderClassifier } from "./train-encoder.js";

it("vit configs", async () => {
  const configs = JSON.parse(process.env.VITEXP ?? "[]");
  const tasks = await loadBirdTasks("/tmp/demo2/synthbirds");
  const ids = [...tasks.trainIds, ...tasks.testIds];
  const classOf = (id: string) => tasks.dataset.get(tasks.dataset.indexOf(Number(id))).classIndex;
  for (const c of configs) {
    const vit = new VisionTransformer({ imageSize: 64, numHeads: 4, pooling: "mean", numClasses: 12, ...c.vit }, { seed: 0 });
    const images = await ImageTable.fromFiles(ids, ids.map((id) => tasks.paths.get(id)!), vit);
    const t = Date.now();
    await trainEncoderClassifier(vit, { images, ids: tasks.trainIds, labels: tasks.trainIds.map(classOf), epochs: c.epochs, lr: c.lr ?? 2e-3, batchSize: c.bs ?? 32 });
    const acc = await classifierAccuracy(vit, images, tasks.testIds, tasks.testIds.map(classOf));
    console.log(JSON.stringify(c), "acc", acc.toFixed(3), "s", (Date.now() - t) / 1000);
    images.dispose(); vit.dispose();
  }
}, 3_000_000);
