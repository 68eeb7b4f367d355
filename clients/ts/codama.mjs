// Generates src/generated/ from the program's IDL (../../idl/energy_utility.json, written by
// `cargo run -p energy-utility-idl`) with Codama's Anchor importer and its @solana/kit
// renderer. `node codama.mjs --check` writes nothing and fails when src/generated/ is not what
// the IDL gives (the tests run it), naming the command to run.
import { readFileSync, readdirSync, rmSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFromRoot } from 'codama';
import { rootNodeFromAnchor } from '@codama/nodes-from-anchor';
import { renderVisitor } from '@codama/renderers-js';

const here = dirname(fileURLToPath(import.meta.url));
const idlPath = join(here, '../../idl/energy_utility.json');
const generated = join(here, 'src/generated');
const check = process.argv.includes('--check');

const idl = JSON.parse(readFileSync(idlPath, 'utf8'));
const codama = createFromRoot(rootNodeFromAnchor(idl));
const target = check ? mkdtempSync(join(tmpdir(), 'energy-utility-codama-')) : generated;
// The renderer writes a client folder; its generated sources are what this package keeps.
await codama.accept(renderVisitor(target, { deleteFolderBeforeRendering: true, formatCode: true }));

function files(root) {
  const out = new Map();
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.set(relative(root, path), readFileSync(path, 'utf8'));
    }
  };
  walk(root);
  return out;
}

if (check) {
  const want = files(target);
  const have = files(generated);
  rmSync(target, { recursive: true, force: true });
  const differ = [...new Set([...want.keys(), ...have.keys()])].filter((f) => want.get(f) !== have.get(f));
  if (differ.length > 0) {
    console.error(
      `clients/ts/src/generated is stale (${differ.slice(0, 5).join(', ')}${differ.length > 5 ? ', …' : ''}): ` +
        'the IDL changed. Regenerate it and commit it:\n  (cd clients/ts && npm run generate)',
    );
    process.exit(1);
  }
  console.log('clients/ts/src/generated is what idl/energy_utility.json gives');
} else {
  console.log(`generated ${relative(process.cwd(), generated)} from ${relative(process.cwd(), idlPath)}`);
}
