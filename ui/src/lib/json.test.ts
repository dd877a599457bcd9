import { parseJson } from "./json";

test("valid JSON is parsed", () => {
  expect(parseJson('{"a": [1, 2.5e3, true, null, "x\\u00e9"]}')).toEqual({ ok: true, value: { a: [1, 2500, true, null, "xé"] } });
});

test.each([
  ['{\n  "a": 1,\n  "b": [1, 2', "not valid JSON: unexpected end at line 3, column 13"],
  ["{{ broken", "not valid JSON: expected a property name in double quotes but found '{' at line 1, column 2"],
  ['{"a" 1}', "not valid JSON: expected ':' but found '1' at line 1, column 6"],
  ['{"a": 1,}', "not valid JSON: expected a property name in double quotes but found '}' at line 1, column 9"],
  ["[1 2]", "not valid JSON: expected ',' or ']' but found '2' at line 1, column 4"],
  ["{'a': 1}", "not valid JSON: expected a property name in double quotes but found ''' at line 1, column 2"],
  ["tru", "not valid JSON: unexpected end at line 1, column 4"],
  ["nul!", "not valid JSON: unexpected '!' at line 1, column 4"],
  ["01", "not valid JSON: malformed number at line 1, column 2"],
  ['"a\nb"', "not valid JSON: line break or control character inside a string at line 1, column 3"],
  ['"\\x"', "not valid JSON: unknown escape \\x at line 1, column 3"],
  ["{}\n}", "not valid JSON: unexpected '}' after the end of the value at line 2, column 1"],
  ["", "not valid JSON: unexpected end at line 1, column 1"],
])("%j: our own words, the same in every browser", (text, message) => {
  expect(parseJson(text)).toEqual({ ok: false, message });
});
