// Builds what the page and other apps use from proto/, with the tools pinned in package.json:
//
//   node scripts/build.mjs generate   proto/ -> client/src/gen (buf + protoc-gen-es)
//   node scripts/build.mjs client     client/src -> client/dist (tsc: JavaScript and .d.ts)
//   node scripts/build.mjs bundle     src/main.js + client/src -> dist/app.js (esbuild)
//   node scripts/build.mjs all        the three, in that order (`npm run build`)
//   node scripts/build.mjs verify     builds into a temporary directory and fails when the
//                                     committed client/src/gen or dist/app.js differ from it
//
// client/src/gen and dist/app.js are committed: the server embeds dist/app.js, so building and
// running the server needs no Node. crates/leverage/tests/web_build.rs runs `verify` in CI.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = dirname(dirname(fileURLToPath(import.meta.url)));
const bin = (name) => join(web, "node_modules", ".bin", name);

function run(program, args, cwd = web) {
  const done = spawnSync(program, args, { cwd, stdio: "inherit" });
  if (done.status !== 0) {
    console.error(`build: ${program} ${args.join(" ")} failed (${done.status ?? done.signal})`);
    process.exit(1);
  }
}

/** proto/ -> `<root>/client/src/gen`. */
function generate(root) {
  const out = join(root, "client", "src", "gen");
  run(bin("buf"), ["generate", "--template", "buf.gen.yaml", "--output", root]);
  return out;
}

function client() {
  run(bin("tsc"), ["-p", "client"]);
}

/**
 * The page's bundle: one file, no source map, deterministic for a given esbuild. The client is
 * taken from its TypeScript sources, so the bundle never depends on a stale client/dist.
 */
function bundle(outfile) {
  run(bin("esbuild"), [
    "src/main.js",
    "--bundle",
    "--alias:@leverage/client=./client/src/index.ts",
    "--format=esm",
    "--target=es2022",
    "--minify",
    "--legal-comments=none",
    "--charset=utf8",
    `--outfile=${outfile}`,
    "--log-level=warning",
  ]);
}

function files(dir) {
  return readdirSync(dir, { recursive: true })
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();
}

function verify() {
  const scratch = mkdtempSync(join(tmpdir(), "leverage-web-"));
  try {
    // buf writes under --output: the template's `out` (client/src/gen) is relative to it.
    const gen = generate(scratch);
    const stale = [];
    const committed = join(web, "client", "src", "gen");
    const fresh = files(gen);
    const kept = files(committed);
    for (const f of new Set([...fresh, ...kept])) {
      const a = fresh.includes(f) ? readFileSync(join(gen, f)) : null;
      const b = kept.includes(f) ? readFileSync(join(committed, f)) : null;
      if (!a || !b || !a.equals(b)) stale.push(`client/src/gen/${f}`);
    }
    const app = join(scratch, "app.js");
    bundle(app);
    if (!readFileSync(app).equals(readFileSync(join(web, "dist", "app.js")))) stale.push("dist/app.js");
    if (stale.length) {
      console.error(`build: stale, run \`npm run build\` in web/ and commit: ${stale.join(", ")}`);
      process.exit(1);
    }
    console.log(`build: up to date (${fresh.length} generated files and dist/app.js)`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const step = process.argv[2] ?? "all";
switch (step) {
  case "generate":
    generate(web);
    break;
  case "client":
    client();
    break;
  case "bundle":
    bundle(join(web, "dist", "app.js"));
    break;
  case "all":
    generate(web);
    client();
    bundle(join(web, "dist", "app.js"));
    break;
  case "verify":
    verify();
    break;
  default:
    console.error(`build: unknown step ${step} (generate, client, bundle, all, verify)`);
    process.exit(2);
}
