/**
 * Holds a ViT checkpoint's weights against its `config.json`: every size the config states (in its own keys or
 * a timm architecture name) must be the size the weights have. Each disagreement is named: the weights file,
 * the tensor, the shape the config implies and the shape found.
 */
import type { Json, WeightsInfo } from "./config.js";

/** What the check needs of a checkpoint's tensors: timm name → shape. */
export type ShapeOf = (timmName: string) => readonly number[] | undefined;

/** What a config.json states, each with the words it used (for the error message). */
interface Stated {
  hiddenSize?: [number, string];
  depth?: [number, string];
  patchSize?: [number, string];
  numChannels?: [number, string];
  mlpSize?: [number, string];
  numClasses?: [number, string];
  imageSize?: [number, string];
  classToken?: [boolean, string];
  stemWidths?: [number[], string];
  stemKernel?: [number, string];
  shiftedPatches?: [boolean, string];
  mlpConvKernel?: [number, string];
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

const TIMM_SIZES: Record<string, { hiddenSize: number; depth: number; mlpSize: number }> = {
  tiny: { hiddenSize: 192, depth: 12, mlpSize: 768 },
  small: { hiddenSize: 384, depth: 12, mlpSize: 1536 },
  base: { hiddenSize: 768, depth: 12, mlpSize: 3072 },
  large: { hiddenSize: 1024, depth: 24, mlpSize: 4096 },
};

/** The sizes a timm config states: `model_args` and top-level keys, else its `architecture` name. */
function statedTimm(json: Json): Stated {
  const args = { ...((json.model_args ?? {}) as Json), ...json };
  const pre = (json.pretrained_cfg ?? {}) as Json;
  const arch = typeof json.architecture === "string" ? json.architecture : "";
  const m = /(?:vit|deit|deit3)_(tiny|small|base|large)(?:_distilled)?_patch(\d+)_(\d+)/.exec(arch);
  const named = m ? TIMM_SIZES[m[1]!] : undefined;
  const s: Stated = {};
  const said = (v: number | undefined, words: string): [number, string] | undefined =>
    v === undefined ? undefined : [v, words];
  const hidden = num(args.embed_dim);
  s.hiddenSize = said(hidden, `embed_dim ${hidden}`) ?? said(named?.hiddenSize, `architecture '${arch}'`);
  s.depth = said(num(args.depth), `depth ${args.depth}`) ?? said(named?.depth, `architecture '${arch}'`);
  s.patchSize =
    said(num(args.patch_size), `patch_size ${args.patch_size}`) ??
    said(m ? Number(m[2]) : undefined, `architecture '${arch}'`);
  s.numChannels = said(num(args.in_chans), `in_chans ${args.in_chans}`);
  const ratio = num(args.mlp_ratio);
  const d = s.hiddenSize?.[0];
  if (ratio !== undefined && d !== undefined) s.mlpSize = [Math.round(d * ratio), `mlp_ratio ${ratio}`];
  else if (named && hidden === undefined) s.mlpSize = [named.mlpSize, `architecture '${arch}'`];
  const classes = num(args.num_classes) ?? num(pre.num_classes);
  if (classes !== undefined) s.numClasses = [classes, `num_classes ${classes}`];
  const img = Array.isArray(args.img_size) ? num(args.img_size[0]) : num(args.img_size);
  s.imageSize = said(img, `img_size ${img}`) ?? said(m ? Number(m[3]) : undefined, `architecture '${arch}'`);
  if (typeof args.class_token === "boolean") s.classToken = [args.class_token, `class_token ${args.class_token}`];
  const stem = json.stem_widths;
  if (Array.isArray(stem) && stem.every((w) => typeof w === "number"))
    s.stemWidths = [stem, `stem_widths [${stem.join(", ")}]`];
  if (json.stem_kernel === 3) s.stemKernel = [3, "stem_kernel 3"];
  if (json.shifted_patches === true) s.shiftedPatches = [true, "shifted_patches true"];
  const k = num(json.mlp_conv_kernel);
  if (k) s.mlpConvKernel = [k, `mlp_conv_kernel ${k}`];
  return s;
}

/** The sizes a Hugging Face `ViTConfig` / `DeiTConfig` states. */
function statedHF(json: Json): Stated {
  const s: Stated = {};
  const put = <K extends keyof Stated>(k: K, key: string) => {
    const v = num(json[key]);
    if (v !== undefined) (s as Record<string, unknown>)[k] = [v, `${key} ${v}`];
  };
  put("hiddenSize", "hidden_size");
  put("depth", "num_hidden_layers");
  put("patchSize", "patch_size");
  put("numChannels", "num_channels");
  put("mlpSize", "intermediate_size");
  put("imageSize", "image_size");
  const archs = Array.isArray(json.architectures) ? (json.architectures as unknown[]) : [];
  const withHead = archs.find((a) => typeof a === "string" && /ForImageClassification(?:WithTeacher)?$/.test(a));
  if (withHead) {
    const id2label = json.id2label as Json | undefined;
    const labels = num(json.num_labels) ?? (id2label ? Object.keys(id2label).length : undefined) ?? 2;
    s.numClasses = [labels, `architectures ['${String(withHead)}'] with ${labels} labels`];
  } else if (archs.length > 0) s.numClasses = [0, `architectures ['${archs.join("', '")}'] (no classifier)`];
  s.classToken = [true, "a Hugging Face ViT"];
  return s;
}

const shapeText = (s: readonly (number | string)[] | undefined) => (s ? `[${s.join(", ")}]` : "nothing");

/**
 * Throws one error listing every place where the weights disagree with what `config.json` states: the weights
 * file, the tensor (as `display` names it in the file), the shape the config implies and the shape found.
 *
 * @param format which config keys to read (`timm` or `hf`).
 * @param info what the weights' shapes say ({@link WeightsInfo}).
 * @param shapeOf the shape of a tensor by its timm name, `undefined` when absent.
 * @param display the tensor's name as the file spells it (timm name → file name).
 */
export function checkWeightsAgainstConfig(
  format: "timm" | "hf",
  json: Json,
  info: WeightsInfo,
  shapeOf: ShapeOf,
  configPath: string,
  weightsPath: string,
  display: (timmName: string) => string = (n) => n,
): void {
  const s = format === "timm" ? statedTimm(json) : statedHF(json);
  const problems: string[] = [];
  const differ = (tensor: string, expected: (number | string)[], why: string) => {
    const got = shapeOf(tensor);
    const same = got && got.length === expected.length && expected.every((d, i) => d === "*" || d === got[i]);
    if (!same)
      problems.push(`tensor '${display(tensor)}': expected ${shapeText(expected)} (${why}), got ${shapeText(got)}`);
  };
  const D = s.hiddenSize?.[0] ?? info.hiddenSize ?? "*";
  const p = s.patchSize?.[0] ?? info.patchSize ?? "*";
  const C = s.numChannels?.[0] ?? info.numChannels ?? "*";
  const why = [s.hiddenSize?.[1], s.numChannels?.[1], s.patchSize?.[1]].filter(Boolean).join(", ");
  const stem = s.stemWidths?.[0] ?? [];
  if (stem.length) {
    // The stem: stride-2 2x2 (hMLP) or 3x3 (convolutional) stages, then the last convolution of kernel p / 2^n.
    const stemWhy = [s.stemWidths![1], s.stemKernel?.[1], s.numChannels?.[1]].filter(Boolean).join(", ");
    const kernel = s.stemKernel?.[0] ?? 2;
    stem.forEach((w, i) =>
      differ(`patch_embed.stem.${i}.proj.weight`, [w, i ? stem[i - 1]! : C, kernel, kernel], stemWhy),
    );
    const k = typeof p === "number" ? p / 2 ** stem.length : "*";
    differ("patch_embed.proj.weight", [D, stem[stem.length - 1]!, k, k], [why, s.stemWidths![1]].join(", "));
  } else if (s.shiftedPatches) {
    // Shifted patch tokenization: the image and its four shifts, normed over the whole flattened patch.
    const c5 = typeof C === "number" ? 5 * C : "*";
    const spt = [why, s.shiftedPatches[1]].filter(Boolean).join(", ");
    differ("patch_embed.proj.weight", [D, c5, p, p], spt);
    differ("patch_embed.norm.weight", [typeof c5 === "number" && typeof p === "number" ? c5 * p * p : "*"], spt);
  } else if (why) differ("patch_embed.proj.weight", [D, C, p, p], why);
  if (s.depth && s.depth[0] !== info.depth) {
    const have = info.depth ?? 0;
    problems.push(
      s.depth[0] > have
        ? `blocks ${have}..${s.depth[0] - 1} are missing (${s.depth[1]}): no tensor '${display(`blocks.${have}.norm1.weight`)}'`
        : `has ${have} blocks, ${s.depth[1]}: '${display(`blocks.${s.depth[0]}.norm1.weight`)}' is one too many`,
    );
  }
  if (s.mlpSize && (info.depth ?? 0) > 0) differ("blocks.0.mlp.fc1.weight", [s.mlpSize[0], D], s.mlpSize[1]);
  if (s.mlpConvKernel && (info.depth ?? 0) > 0) {
    const k = s.mlpConvKernel[0];
    differ("blocks.0.mlp.dwconv.weight", [s.mlpSize?.[0] ?? info.mlpSize ?? "*", 1, k, k], s.mlpConvKernel[1]);
  }
  if (s.classToken?.[0] && !shapeOf("cls_token")) differ("cls_token", [1, 1, D], s.classToken[1]);
  if (s.numClasses) {
    if (s.numClasses[0] > 0) differ("head.weight", [s.numClasses[0], D], s.numClasses[1]);
    else if (shapeOf("head.weight"))
      problems.push(`tensor '${display("head.weight")}' is a classifier, but ${s.numClasses[1]}`);
  }
  const pos = shapeOf("pos_embed");
  if (!pos) problems.push(`tensor '${display("pos_embed")}' is missing (every ViT has one)`);
  else if (info.grid === undefined)
    problems.push(
      `tensor '${display("pos_embed")}' ${shapeText(pos)} is not a square grid of patches after the class and ` +
        `distillation tokens the weights have`,
    );
  if (s.imageSize && info.grid !== undefined && typeof p === "number" && info.grid * p !== s.imageSize[0]) {
    const g = s.imageSize[0] / p;
    problems.push(
      `tensor '${display("pos_embed")}' ${shapeText(shapeOf("pos_embed"))} holds a ${info.grid}x${info.grid} patch ` +
        `grid, expected ${g}x${g} (${s.imageSize[1]}, patch size ${p})`,
    );
  }
  if (problems.length) throw new Error(`${weightsPath} disagrees with ${configPath}: ${problems.join("; ")}`);
}
