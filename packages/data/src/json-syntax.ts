import { createReadStream } from "node:fs";

/** Where a JSON file's first syntax error is: 0-based byte offset, 1-based line and column (in bytes). */
export interface JsonSyntaxError {
  offset: number;
  line: number;
  column: number;
  /** What was expected there. */
  reason: string;
}

type Want = "value" | "valueOrClose" | "key" | "keyOrClose" | "colon" | "commaOrClose" | "end";

const TOKEN = /^(-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?|true|false|null)$/;

/**
 * Finds the first syntax error of a JSON file by streaming it once through a small state machine (memory
 * bounded by the nesting depth), or `undefined` when the file is valid JSON. Streaming parsers such as
 * stream-json say what they expected but not where; this says where, for the error message.
 */
export async function findJsonSyntaxError(path: string): Promise<JsonSyntaxError | undefined> {
  const stack: number[] = []; // 0 array, 1 object
  let want: Want = "value";
  let inString = false;
  let isKey = false;
  let escape = false;
  let hex = 0;
  let token = "";
  let offset = 0;
  let line = 1;
  let column = 0;
  let error: JsonSyntaxError | undefined;
  const fail = (reason: string): void => {
    error = { offset, line, column: column + 1, reason };
  };
  const afterValue = (): void => {
    want = stack.length === 0 ? "end" : "commaOrClose";
  };
  const endToken = (): boolean => {
    if (!TOKEN.test(token)) {
      fail(`invalid literal ${JSON.stringify(token.slice(0, 20))}`);
      return false;
    }
    token = "";
    afterValue();
    return true;
  };
  const step = (c: number): void => {
    if (inString) {
      if (hex > 0) {
        if (!/[0-9a-fA-F]/.test(String.fromCharCode(c))) return fail("expected a hex digit in a \\u escape");
        hex--;
      } else if (escape) {
        if (!'"\\/bfnrtu'.includes(String.fromCharCode(c))) return fail("invalid escape in a string");
        if (c === 0x75) hex = 4;
        escape = false;
      } else if (c === 0x5c) escape = true;
      else if (c === 0x22) {
        inString = false;
        if (isKey) want = "colon";
        else afterValue();
      } else if (c < 0x20) fail("control character in a string");
      return;
    }
    if (token !== "") {
      if (/[0-9a-zA-Z+\-.]/.test(String.fromCharCode(c))) {
        token += String.fromCharCode(c);
        return;
      }
      if (!endToken()) return;
    }
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) return;
    const ch = String.fromCharCode(c);
    switch (want) {
      case "value":
      case "valueOrClose":
        if (ch === "{") (stack.push(1), (want = "keyOrClose"));
        else if (ch === "[") (stack.push(0), (want = "valueOrClose"));
        else if (ch === '"') ((inString = true), (isKey = false));
        else if (ch === "]" && want === "valueOrClose") (stack.pop(), afterValue());
        else if (/[-0-9tfn]/.test(ch)) token = ch;
        else fail(`expected a value, got ${JSON.stringify(ch)}`);
        return;
      case "key":
      case "keyOrClose":
        if (ch === '"') ((inString = true), (isKey = true));
        else if (ch === "}" && want === "keyOrClose") (stack.pop(), afterValue());
        else fail(`expected an object key in double quotes, got ${JSON.stringify(ch)}`);
        return;
      case "colon":
        if (ch === ":") want = "value";
        else fail(`expected ':', got ${JSON.stringify(ch)}`);
        return;
      case "commaOrClose": {
        const top = stack[stack.length - 1];
        if (ch === ",") want = top === 0 ? "value" : "key";
        else if ((ch === "]" && top === 0) || (ch === "}" && top === 1)) (stack.pop(), afterValue());
        else fail(`expected ',' or '${top === 0 ? "]" : "}"}', got ${JSON.stringify(ch)}`);
        return;
      }
      case "end":
        fail(`unexpected ${JSON.stringify(ch)} after the end of the JSON value`);
    }
  };
  const stream = createReadStream(path);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let i = 0;
      if (offset === 0 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) i = offset = 3;
      for (; i < chunk.length; i++, offset++) {
        const c = chunk[i]!;
        step(c);
        if (error) return error;
        if (c === 0x0a) (line++, (column = 0));
        else column++;
      }
    }
  } finally {
    stream.destroy();
  }
  if (inString) fail("the file ends inside a string");
  else if (token !== "" && !endToken()) return error;
  else if ((want as Want) !== "end") fail("unexpected end of the file");
  return error;
}
