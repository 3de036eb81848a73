// Refreshes the vendored MCP Apps SDK: `npm --prefix frontend ci && npm --prefix frontend run vendor`.
//
// The chat window (a ui:// resource rendered in a sandboxed frame) cannot load scripts from a
// CDN or from our server, so its page carries the SDK inline. The SDK ships a self-contained
// build (`app-with-deps`: App and what it needs, zod included) as an ES module; a classic
// script is simpler to inline, so esbuild wraps it unchanged as one, exposing `McpExtApps`.
// The test host (tests/e2e/apphost) gets the SDK's host side the same way, as `McpHost`.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const modules = join(root, "frontend", "node_modules");
const version = (name) =>
  JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8")).version;

async function script(entry, globalName, outfile, banner) {
  await build({
    stdin: { contents: entry, resolveDir: join(root, "frontend"), loader: "js" },
    bundle: true,
    format: "iife",
    globalName,
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "eof",
    banner: { js: banner },
    outfile,
  });
  if (readFileSync(outfile, "utf8").toLowerCase().includes("</script")) {
    throw new Error(`${outfile} contains </script and cannot be inlined`);
  }
}

const ext = version("@modelcontextprotocol/ext-apps");
const windowVendor = join(root, "static", "chat", "window", "vendor");
mkdirSync(windowVendor, { recursive: true });
await script(
  'export * from "@modelcontextprotocol/ext-apps/app-with-deps";',
  "McpExtApps",
  join(windowVendor, "ext-apps.js"),
  `/* @modelcontextprotocol/ext-apps ${ext} (its app-with-deps build: App and what it needs, zod included); ` +
    "licences in LICENSE.*; refreshed by frontend/vendor.mjs */",
);
copyFileSync(join(modules, "@modelcontextprotocol/ext-apps/LICENSE"), join(windowVendor, "LICENSE.ext-apps"));
copyFileSync(join(modules, "zod/LICENSE"), join(windowVendor, "LICENSE.zod"));
writeFileSync(join(windowVendor, "VERSION"), `@modelcontextprotocol/ext-apps ${ext}\n`);

const client = version("@modelcontextprotocol/client");
const hostDir = join(root, "tests", "e2e", "apphost");
await script(
  'export { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";\n' +
    'export { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";',
  "McpHost",
  join(hostDir, "host-sdk.js"),
  `/* The MCP Apps SDK's host side (@modelcontextprotocol/ext-apps ${ext}) and the MCP client ` +
    `(@modelcontextprotocol/client ${client}), for the test host only; refreshed by frontend/vendor.mjs */`,
);
console.log(`vendored ext-apps ${ext}, client ${client}`);
