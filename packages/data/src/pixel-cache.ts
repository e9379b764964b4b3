import { open, readFile, rename, stat, writeFile, type FileHandle } from "node:fs/promises";
import sharp from "sharp";
import type { BoundingBox } from "./cub-dataset.js";
import { boxWithMargin } from "./crop-geometry.js";
import { decodeFailureReason, jpegHeaderSize } from "./image-pipeline.js";
import { DataFormatError } from "./data-format-error.js";
import { readRegularFile } from "./listed-path.js";
import type { RgbPixels } from "./uint8-augment.js";

const MAGIC = "BVPIXC01";
const FORMAT = 1;

/** An image to store: its path, and optionally a box to crop to first. */
export interface PixelCacheSource {
  path: string;
  bbox?: BoundingBox;
}

/** Options of {@link PixelCache.build} / {@link PixelCache.openOrBuild}. */
export interface PixelCacheOptions {
  /** Images are stored with their shorter side at most this many pixels (never enlarged). */
  shorterSide: number;
  /** Crop to each source's box (grown by `boxMargin`) before storing. Default `true`. */
  cropToBox?: boolean;
  /** Default 0.1. */
  boxMargin?: number;
  /** Images decoded at the same time. Default 4. */
  concurrency?: number;
  /** Read the whole file into memory when it is at most this many bytes; else read each image at its offset. Default 512 MiB. */
  inMemoryLimit?: number;
  /** Called after each decoded image while building. */
  onProgress?: (done: number, total: number) => void;
}

interface Header {
  format: number;
  shorterSide: number;
  cropToBox: boolean;
  boxMargin: number;
  /** One key per source: path, byte size, mtime and box; a cache is reused only when all match. */
  keys: string[];
  width: number[];
  height: number[];
  /** Byte offset of each image's pixels after the header. */
  offset: number[];
}

/**
 * Decoded pixels of a fixed list of images, decoded once and packed into one file (FFCV's idea): every epoch
 * after the first reads bytes instead of decoding JPEGs. Each image is stored as RGB uint8 with its shorter
 * side at most `shorterSide` (aspect kept), so a random-resized-crop to about `shorterSide / 1.15` pixels
 * only shrinks a little. The file: 8 magic bytes, a uint32 header length, the JSON header, the pixels.
 *
 * ```ts
 * const cache = await PixelCache.openOrBuild(items, "/tmp/cub-74.pix", { shorterSide: 74 });
 * const { data, width, height } = await cache.read(0);
 * ```
 */
export class PixelCache {
  private constructor(
    readonly file: string,
    private readonly header: Header,
    private readonly dataStart: number,
    private readonly whole: Buffer | undefined,
    private readonly handle: FileHandle | undefined,
  ) {}

  /** Number of stored images. */
  get size(): number {
    return this.header.width.length;
  }

  /** The stored shorter side. */
  get shorterSide(): number {
    return this.header.shorterSide;
  }

  /** Width and height of stored image `i`. */
  dims(i: number): { width: number; height: number } {
    this.check(i);
    return { width: this.header.width[i]!, height: this.header.height[i]! };
  }

  /** The pixels of image `i` (a view of the in-memory file, or a fresh read at its offset). */
  async read(i: number): Promise<RgbPixels> {
    this.check(i);
    const { width, height } = this.dims(i);
    const length = width * height * 3;
    const start = this.dataStart + this.header.offset[i]!;
    if (this.whole) return { data: this.whole.subarray(start, start + length), width, height };
    const data = Buffer.allocUnsafe(length);
    const { bytesRead } = await this.handle!.read(data, 0, length, start);
    if (bytesRead !== length) throw new Error(`${this.file}: image ${i} is cut short (the cache file is truncated)`);
    return { data, width, height };
  }

  /** Closes the file (when it is read image by image). */
  async close(): Promise<void> {
    await this.handle?.close();
  }

  private check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.size)
      throw new RangeError(`PixelCache: image ${i} out of range (${this.size} images)`);
  }

  /**
   * Opens `file` when it holds exactly `sources` at these options (same paths, sizes, modification times and
   * boxes), else decodes the sources into it (written beside it and renamed into place) and opens that.
   */
  static async openOrBuild(
    sources: readonly PixelCacheSource[],
    file: string,
    options: PixelCacheOptions,
  ): Promise<PixelCache> {
    const keys = await sourceKeys(sources);
    const existing = await PixelCache.open(file, options).catch(() => undefined);
    if (existing) {
      const h = existing.header;
      const same =
        h.shorterSide === options.shorterSide &&
        h.cropToBox === (options.cropToBox ?? true) &&
        h.boxMargin === (options.boxMargin ?? 0.1) &&
        h.keys.length === keys.length &&
        h.keys.every((k, i) => k === keys[i]);
      if (same) return existing;
      await existing.close();
    }
    await PixelCache.build(sources, file, options, keys);
    return PixelCache.open(file, options);
  }

  /** Decodes `sources` and writes the packed file (atomically: beside it, then renamed). */
  static async build(
    sources: readonly PixelCacheSource[],
    file: string,
    options: PixelCacheOptions,
    keys?: string[],
  ): Promise<void> {
    const S = options.shorterSide;
    if (!Number.isInteger(S) || S < 1) throw new Error(`PixelCache: shorterSide must be a positive integer, got ${S}`);
    const cropToBox = options.cropToBox ?? true;
    const boxMargin = options.boxMargin ?? 0.1;
    const decoded: Buffer[] = new Array(sources.length);
    const width: number[] = new Array(sources.length);
    const height: number[] = new Array(sources.length);
    let next = 0;
    let done = 0;
    const worker = async (): Promise<void> => {
      while (next < sources.length) {
        const i = next++;
        const px = await decodeStored(sources[i]!, S, cropToBox, boxMargin);
        decoded[i] = px.data;
        width[i] = px.width;
        height[i] = px.height;
        options.onProgress?.(++done, sources.length);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
    const offset: number[] = [];
    let at = 0;
    for (const d of decoded) {
      offset.push(at);
      at += d.length;
    }
    const header: Header = {
      format: FORMAT,
      shorterSide: S,
      cropToBox,
      boxMargin,
      keys: keys ?? (await sourceKeys(sources)),
      width,
      height,
      offset,
    };
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(json.length);
    const tmp = `${file}.tmp-${process.pid}`;
    await writeFile(tmp, Buffer.concat([Buffer.from(MAGIC), len, json, ...decoded]));
    await rename(tmp, file);
  }

  /** Opens a cache file written by {@link build}. */
  static async open(file: string, options: Pick<PixelCacheOptions, "inMemoryLimit"> = {}): Promise<PixelCache> {
    const size = (await stat(file)).size;
    const inMemory = size <= (options.inMemoryLimit ?? 512 * 2 ** 20);
    let head: Buffer;
    let whole: Buffer | undefined;
    let handle: FileHandle | undefined;
    if (inMemory) head = whole = await readFile(file);
    else {
      handle = await open(file, "r");
      head = Buffer.alloc(12);
      await handle.read(head, 0, 12, 0);
    }
    try {
      if (head.subarray(0, 8).toString("latin1") !== MAGIC) throw new Error("not a BirdVLM pixel cache");
      const n = head.readUInt32LE(8);
      let json: Buffer;
      if (whole) json = whole.subarray(12, 12 + n);
      else {
        json = Buffer.alloc(n);
        await handle!.read(json, 0, n, 12);
      }
      const header = JSON.parse(json.toString("utf8")) as Header;
      if (header.format !== FORMAT) throw new Error(`format ${header.format}, expected ${FORMAT}`);
      const count = header.width.length;
      const last = count ? header.offset[count - 1]! + header.width[count - 1]! * header.height[count - 1]! * 3 : 0;
      if (12 + n + last !== size) throw new Error(`${size} bytes, the header describes ${12 + n + last}`);
      return new PixelCache(file, header, 12 + n, whole, handle);
    } catch (e) {
      await handle?.close();
      throw new Error(`${file}: cannot read pixel cache (${(e as Error).message})`);
    }
  }
}

/** Decodes one source to RGB with its shorter side at most `S` (after the optional box crop). */
async function decodeStored(
  source: PixelCacheSource,
  S: number,
  cropToBox: boolean,
  boxMargin: number,
): Promise<{ data: Buffer; width: number; height: number }> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(source.path); // only a regular file, up to the image size cap
  } catch (e) {
    if (e instanceof DataFormatError) throw e;
    throw new Error(`${source.path}: cannot read image (${(e as Error).message})`);
  }
  try {
    // as ImagePipeline: corrupt data libjpeg would guess around is refused
    let image = sharp(bytes, { autoOrient: true, failOn: "warning" });
    const dims = jpegHeaderSize(bytes) ?? (await image.metadata()).autoOrient;
    if (!dims?.width || !dims.height) throw new Error("no image dimensions in the header");
    let { width: w, height: h } = dims;
    if (source.bbox && cropToBox) {
      const r = boxWithMargin(source.bbox, boxMargin, w, h);
      image = image.extract(r);
      w = r.width;
      h = r.height;
    }
    const scale = Math.min(1, S / Math.min(w, h));
    const tw = Math.max(1, Math.round(w * scale));
    const th = Math.max(1, Math.round(h * scale));
    if (scale < 1) image = image.resize(tw, th, { fit: "fill" });
    const { data, info } = await image.removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== tw || info.height !== th)
      throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${tw}x${th}x3`);
    return { data, width: tw, height: th };
  } catch (e) {
    throw new Error(`${source.path}: cannot decode image (${await decodeFailureReason(bytes, e as Error, "warning")})`);
  }
}

async function sourceKeys(sources: readonly PixelCacheSource[]): Promise<string[]> {
  return Promise.all(
    sources.map(async (s) => {
      const st = await stat(s.path).catch((e: Error) => {
        throw new Error(`${s.path}: cannot read image (${e.message})`);
      });
      const box = s.bbox ? `${s.bbox.x},${s.bbox.y},${s.bbox.width},${s.bbox.height}` : "";
      return `${s.path}|${st.size}|${Math.round(st.mtimeMs)}|${box}`;
    }),
  );
}
