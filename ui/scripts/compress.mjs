// Precompress the built panel (`npm run build` runs it after `vite build`): beside each text
// asset in dist/assets, its .br (brotli, quality 11) and .gz (gzip -9), each only when smaller.
// The shim serves one of them by the request's Accept-Encoding. Fails if a source map was built.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const dist = process.argv[2] ?? "dist";
const maps = readdirSync(dist, { recursive: true }).filter((name) => String(name).endsWith(".map"));
if (maps.length > 0) {
  console.error(`source maps in ${dist} (they would be public): ${maps.join(", ")}`);
  process.exit(1);
}
const TEXT = [".js", ".mjs", ".css", ".html", ".svg", ".json", ".txt", ".wasm"];
const assets = join(dist, "assets");
for (const name of readdirSync(assets).filter((n) => TEXT.some((ext) => n.endsWith(ext)))) {
  const plain = readFileSync(join(assets, name));
  const br = brotliCompressSync(plain, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: plain.length,
    },
  });
  const gz = gzipSync(plain, { level: 9 });
  const sizes = [`${name}: ${plain.length} B`];
  for (const [suffix, bytes] of [[".br", br], [".gz", gz]]) {
    if (bytes.length >= plain.length) continue;
    writeFileSync(join(assets, name + suffix), bytes);
    sizes.push(`${suffix} ${bytes.length} B`);
  }
  console.log(sizes.join(", "));
}
