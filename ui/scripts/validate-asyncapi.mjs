// Validate an AsyncAPI document with the official parser: prints each diagnostic, exits 1 when
// any is an error (severity 0). `node ui/scripts/validate-asyncapi.mjs contracts/asyncapi.json`
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const path = process.argv[2];
const { document, diagnostics } = await new Parser().parse(readFileSync(path, "utf8"));
for (const d of diagnostics) {
  console.log(JSON.stringify({ severity: d.severity, code: d.code, message: d.message, path: d.path }));
}
const errors = diagnostics.filter((d) => d.severity === 0);
if (document === undefined || errors.length > 0) {
  console.error(`${errors.length} error(s) in ${path}`);
  process.exit(1);
}
console.log(`valid: ${document.info().title()} ${document.version()}`);
