// Validates AsyncAPI documents with @asyncapi/parser: reads each file named
// on the command line, prints every diagnostic as one JSON line
// ({"file","severity","code","message","path"}), and exits with 1 when a
// document has an error (severity 0), 2 when it cannot run.
import { readFile } from 'node:fs/promises';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';

const parser = new Parser();
let errors = 0;
for (const file of process.argv.slice(2)) {
  const text = await readFile(file, 'utf8');
  const { document, diagnostics } = await parser.parse(text, { source: file });
  for (const d of diagnostics) {
    if (d.severity === DiagnosticSeverity.Error) errors++;
    console.log(JSON.stringify({ file, severity: d.severity, code: d.code, message: d.message, path: d.path }));
  }
  if (!document) {
    console.log(JSON.stringify({ file, severity: 0, code: 'unparsed', message: 'the parser returned no document' }));
    errors++;
  }
}
process.exit(errors > 0 ? 1 : 0);
