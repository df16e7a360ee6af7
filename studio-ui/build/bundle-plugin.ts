// Build steps of the packaged bundle: pre-compressed copies (gzip) of every text file the
// server sends, and a stamp of the sources the bundle was built from, so a test can tell a
// committed bundle that no longer matches its sources.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { gzipSync } from "node:zlib";
import type { Plugin } from "vite";

const COMPRESSIBLE = /\.(js|css|html|svg|json|map|txt)$/;
/** Inputs of the bundle, relative to the studio-ui folder (tests and docs excluded). */
const SOURCE_ROOTS = ["src", "public", "index.html", "package-lock.json", "vite.config.ts", "build"];
const NOT_SOURCES = /(\.test\.tsx?$)|(^src\/test\/)/;
export const STAMP_FILE = "build-stamp.json";

function files(root: string, path: string): string[] {
  const full = join(root, path);
  if (statSync(full).isFile()) return [path];
  return readdirSync(full).flatMap((name) => files(root, join(path, name)));
}

/** The sha256 of the bundle's sources (path and bytes of each file, in path order). */
export function sourceHash(root: string): string {
  const hash = createHash("sha256");
  const paths = SOURCE_ROOTS.flatMap((entry) => files(root, entry))
    .map((path) => path.split(sep).join("/"))
    .filter((path) => !NOT_SOURCES.test(path))
    .sort();
  for (const path of paths) {
    hash.update(path + "\0");
    hash.update(readFileSync(join(root, path)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

/** Vite plugin: after the bundle is written, gzip it and stamp the source hash. */
export function packagedBundle(root: string): Plugin {
  let outDir = "";
  return {
    name: "flowai-packaged-bundle",
    apply: "build",
    configResolved(config) {
      outDir = config.build.outDir;
    },
    closeBundle() {
      for (const path of files(outDir, ".")) {
        if (!COMPRESSIBLE.test(path)) continue;
        const full = join(outDir, path);
        writeFileSync(`${full}.gz`, gzipSync(readFileSync(full), { level: 9 }));
      }
      const stamp = { sourceHash: sourceHash(root), sources: SOURCE_ROOTS };
      writeFileSync(join(outDir, STAMP_FILE), JSON.stringify(stamp, null, 2) + "\n");
      const listed = files(outDir, ".").map((p) => relative(".", p));
      console.log(`packaged bundle: ${listed.length} files in ${outDir}`);
    },
  };
}
