// Generates models with Modelina (@asyncapi/modelina) from each AsyncAPI
// document named on the command line, in TypeScript and Python, and prints
// every model as one JSON line ({"file","language","name","model","kind",
// "code"}): name is the model's name in the generated code ("" when the
// language writes no code for it, as Python for unions), model the name
// Modelina gave it, kind its class, code whether code was written. Exits
// with 2 when it cannot run.
import { readFile } from 'node:fs/promises';
import { TypeScriptGenerator, PythonGenerator } from '@asyncapi/modelina';

const generators = { typescript: new TypeScriptGenerator(), python: new PythonGenerator() };
try {
  for (const file of process.argv.slice(2)) {
    const text = await readFile(file, 'utf8');
    for (const [language, generator] of Object.entries(generators)) {
      // A generator may change the document it reads: each reads its own.
      for (const m of await generator.generate(JSON.parse(text))) {
        console.log(JSON.stringify({
          file, language, name: m.modelName, model: m.model?.name ?? '',
          kind: m.model?.constructor?.name ?? '', code: m.result.trim() !== '',
        }));
      }
    }
  }
} catch (err) {
  console.error(err);
  process.exit(2);
}
