// ESLint 9 flat config: TypeScript's recommended rules and React's rules of hooks
// (`npm run lint`; `make lint` runs it).
import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "src/api/schema.d.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["src/**/*.{ts,tsx}", "vite.config.ts"],
    plugins: { "react-hooks": reactHooks },
    rules: {
      "react-hooks/rules-of-hooks": "error",
      "react-hooks/exhaustive-deps": "error",
      // `const { omitted: _omitted, ...rest } = value` leaves a member out on purpose.
      "@typescript-eslint/no-unused-vars": ["error", { varsIgnorePattern: "^_", argsIgnorePattern: "^_" }],
    },
  },
  {
    // Node scripts (the browser tests, the AsyncAPI check); the browser tests' page.evaluate
    // callbacks run in the page.
    files: ["e2e/**/*.mjs", "scripts/**/*.mjs", "eslint.config.js"],
    languageOptions: {
      globals: {
        ...Object.fromEntries(["process", "console", "URL", "setTimeout", "fetch", "Buffer"].map((name) => [name, "readonly"])),
        ...Object.fromEntries(["document", "window", "localStorage", "sessionStorage", "navigator"].map((name) => [name, "readonly"])),
      },
    },
  },
);
