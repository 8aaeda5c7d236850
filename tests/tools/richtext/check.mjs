// Reads post texts, one JSON string a line on stdin, and prints for each, one JSON object a
// line in the same order, what the official Bluesky client library (`@atproto/api`'s
// `RichText`) makes of it: `graphemes` (graphemeLength, the 300 limit's unit), `bytes` (length:
// UTF-8 bytes, the 3,000 limit's unit) and `facets` (detectFacetsWithoutResolution).
// tests/bluesky_richtext.rs compares crier's counts and facets with these.
// Exits 77 when `@atproto/api` is not installed (`npm ci` in this folder).
import { createInterface } from 'node:readline';

let RichText;
try {
  ({ RichText } = await import('@atproto/api'));
} catch (error) {
  console.error(`@atproto/api is not installed (run npm ci in tests/tools/richtext): ${error.message}`);
  process.exit(77);
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
const out = [];
for await (const line of lines) {
  if (line === '') continue;
  const rt = new RichText({ text: JSON.parse(line) });
  rt.detectFacetsWithoutResolution();
  out.push(JSON.stringify({ graphemes: rt.graphemeLength, bytes: rt.length, facets: rt.facets ?? [] }));
}
process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
