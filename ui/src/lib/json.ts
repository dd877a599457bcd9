// JSON typed into a box, parsed with a message of our own: browsers word JSON.parse's
// SyntaxError each their own way (and some give no position), so the panel finds the place
// itself and says the same in Chromium and Firefox.

export type Parsed = { ok: true; value: unknown } | { ok: false; message: string };

class Stop extends Error {
  constructor(
    readonly what: string,
    readonly offset: number,
  ) {
    super(what);
  }
}

/** Walks the text as JSON's grammar (RFC 8259) reads it and stops at the first thing wrong. */
function scan(text: string): void {
  let i = 0;
  const fail = (what: string): never => {
    throw new Stop(i >= text.length ? "unexpected end" : what, i);
  };
  const unexpected = (expected: string) => fail(`expected ${expected} but found ${describe(text[i])}`);
  const space = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const literal = (word: string) => {
    for (const char of word) {
      if (text[i] !== char) fail(`unexpected ${describe(text[i])}`);
      i++;
    }
  };
  const string = () => {
    i++; // the opening quote
    for (;;) {
      if (i >= text.length) fail("unexpected end");
      const char = text[i];
      if (char === '"') return void i++;
      if (char < " ") fail("line break or control character inside a string");
      if (char === "\\") {
        i++;
        if (text[i] === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail("\\u must be followed by 4 hex digits");
          i += 5;
        } else if (i < text.length && '"\\/bfnrt'.includes(text[i])) i++;
        else fail(`unknown escape \\${text[i] ?? ""}`);
      } else i++;
    }
  };
  const number = () => {
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (!match) fail("malformed number");
    i += match![0].length;
    if (i < text.length && /[0-9.eE+-]/.test(text[i])) fail("malformed number");
  };
  const value = (): void => {
    space();
    const char = text[i];
    if (char === "{") {
      i++;
      space();
      if (text[i] === "}") return void i++;
      for (;;) {
        space();
        if (text[i] !== '"') unexpected("a property name in double quotes");
        string();
        space();
        if (text[i] !== ":") unexpected("':'");
        i++;
        value();
        space();
        if (text[i] === ",") i++;
        else if (text[i] === "}") return void i++;
        else unexpected("',' or '}'");
      }
    }
    if (char === "[") {
      i++;
      space();
      if (text[i] === "]") return void i++;
      for (;;) {
        value();
        space();
        if (text[i] === ",") i++;
        else if (text[i] === "]") return void i++;
        else unexpected("',' or ']'");
      }
    }
    if (char === '"') return string();
    if (char === "-" || (char >= "0" && char <= "9")) return number();
    if (char === "t") return literal("true");
    if (char === "f") return literal("false");
    if (char === "n") return literal("null");
    unexpected("a value");
  };
  value();
  space();
  if (i < text.length) fail(`unexpected ${describe(text[i])} after the end of the value`);
}

function describe(char: string | undefined): string {
  if (char === undefined) return "the end";
  if (char === "\n" || char === "\r") return "a line break";
  if (char < " ") return "a control character";
  return `'${char}'`;
}

/** Line and column (both from 1) of an offset into the text. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split(/\r\n|\r|\n/);
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

/** The text as JSON, or why not: "not valid JSON: unexpected end at line 3, column 5". */
export function parseJson(text: string): Parsed {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    try {
      scan(text);
    } catch (stop) {
      if (stop instanceof Stop) {
        const { line, column } = lineAndColumn(text, stop.offset);
        return { ok: false, message: `not valid JSON: ${stop.what} at line ${line}, column ${column}` };
      }
    }
    return { ok: false, message: "not valid JSON" };
  }
}
