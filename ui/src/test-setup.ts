import "@testing-library/jest-dom/vitest";

// Each test starts without the edits a previous one kept in this tab (lib/drafts.ts).
afterEach(() => sessionStorage.clear());
