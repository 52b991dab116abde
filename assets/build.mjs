// Builds the committed CSS: node build.mjs (npm run build).
//   portal.scss -> ../static/css/portal.css      (left to right)
//   portal.css  -> ../static/css/portal-rtl.css  (mirrored by rtlcss, for Arabic)
//   print.scss  -> ../static/css/print.css
// and copies the few USWDS icon files the CSS refers to into ../static/img/.
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as sass from "sass";
import rtlcss from "rtlcss";

const here = dirname(fileURLToPath(import.meta.url));
const uswds = join(here, "node_modules", "@uswds", "uswds");
const staticDir = resolve(here, "..", "static");
const cssDir = join(staticDir, "css");

function compile(file) {
  const result = sass.compile(join(here, file), {
    loadPaths: [join(uswds, "packages")],
    style: "compressed",
    quietDeps: true,
    silenceDeprecations: ["import", "global-builtin"],
    charset: false,
  });
  return result.css + "\n";
}

function write(name, css) {
  const path = join(cssDir, name);
  writeFileSync(path, css);
  const gz = gzipSync(Buffer.from(css), { level: 9 }).length;
  console.log(`${name.padEnd(16)} ${String(css.length).padStart(7)} bytes, ${String(gz).padStart(6)} gzipped`);
  return css;
}

mkdirSync(cssDir, { recursive: true });

const ltr = write("portal.css", compile("portal.scss"));
write("portal-rtl.css", rtlcss.process(ltr).trimEnd() + "\n");
write("print.css", compile("print.scss"));

// Every url(../img/...) in the CSS must exist under static/img: USWDS icons are
// copied from the package; our own images are already there.
const wanted = new Set();
for (const match of ltr.matchAll(/url\("?\.\.\/img\/([^")]+)"?\)/g)) wanted.add(match[1]);
for (const rel of [...wanted].sort()) {
  const target = join(staticDir, "img", rel);
  const source = join(uswds, "dist", "img", rel);
  if (existsSync(source)) {
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(source, target);
  } else if (!existsSync(target)) {
    throw new Error(`portal.css refers to ../img/${rel}, which is neither in USWDS nor in static/img`);
  }
  console.log(`img/${rel}`);
}

// Every font the CSS refers to must exist (they are made once by subset-fonts.sh).
for (const match of ltr.matchAll(/url\("?\.\.\/fonts\/([^")]+)"?\)/g)) {
  if (!existsSync(join(staticDir, "fonts", match[1]))) {
    throw new Error(`portal.css refers to ../fonts/${match[1]}: run ./subset-fonts.sh`);
  }
}

// Licences of what we ship from USWDS.
mkdirSync(join(staticDir, "LICENSES"), { recursive: true });
copyFileSync(join(uswds, "LICENSE.md"), join(staticDir, "LICENSES", "USWDS-LICENSE.md"));
