// Runs Python in a sandbox with a warm kernel: state persists across calls, a DataFrame comes back as HTML.
// Needs E2B_API_URL, E2B_SANDBOX_URL and E2B_API_KEY pointing at a Coppice gateway (see the README).
import { Sandbox } from '@e2b/code-interpreter';

const sandbox = await Sandbox.create();
try {
  await sandbox.runCode('x = 42');
  const answer = await sandbox.runCode('x');
  console.log('x =', answer.text);

  const frame = await sandbox.runCode("import pandas as pd\npd.DataFrame({'a': [1, 2], 'b': [3, 4]})");
  console.log('DataFrame as HTML:', frame.results[0]?.html ? 'yes' : 'no');

  const failed = await sandbox.runCode('1 / 0');
  console.log('error:', failed.error?.name, failed.error?.value);
  if (answer.text !== '42' || !frame.results[0]?.html || failed.error?.name !== 'ZeroDivisionError')
    process.exitCode = 1;
} finally {
  await sandbox.kill();
}
