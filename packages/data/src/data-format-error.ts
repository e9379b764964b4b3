/**
 * An error in a dataset file, naming the file and (when it applies) the 1-based line or record.
 *
 * The message reads `path:line: what is wrong`, like a compiler's, so a reader can jump to the spot.
 */
export class DataFormatError extends Error {
  override readonly name = "DataFormatError";

  constructor(
    /** The file in which the problem was found. */
    readonly file: string,
    /** What is wrong. */
    readonly reason: string,
    /** 1-based line number, when the problem is on one line. */
    readonly line?: number,
  ) {
    super(line === undefined ? `${file}: ${reason}` : `${file}:${line}: ${reason}`);
  }
}
