// ava 7.0.0's TAP reporter crashes when its inactivity timeout fires: writeTimeout hands a
// native Error to dumpError, which expects ava's serialized form (TypeError on
// `originalError.name`). The crash hides which tests were still running, the one thing a
// timeout report is for. Loaded with --import into ava's main process (tools/run-tests.mjs),
// this replaces writeTimeout with one that reports each pending test as `not ok` with the
// timeout as its message, in the serialized shape dumpError understands.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const tapUrl = pathToFileURL(resolve('node_modules/ava/lib/reporters/tap.js')).href;
const { default: TapReporter } = await import(tapUrl);

if (typeof TapReporter?.prototype?.writeTimeout !== 'function') {
  throw new Error(`tools/ava-tap-timeout-fix.mjs: ${tapUrl} has no TapReporter.writeTimeout; ava changed, remove or update this fix`);
}

TapReporter.prototype.writeTimeout = function writeTimeout(evt) {
  const message = `Exited because no new tests completed within the last ${evt.period}ms of inactivity`;
  for (const [testFile, tests] of evt.pendingTests) {
    for (const title of tests) {
      this.writeTest(
        { testFile, title, err: { type: 'unknown', formattedError: message } },
        { passed: false, todo: false, skip: false },
      );
    }
  }
};
