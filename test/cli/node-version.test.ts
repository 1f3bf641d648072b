import test from 'ava';
import { readFileSync } from 'node:fs';
import { nodeVersionProblem } from '../../src/cli/node-version.js';

test('an older Node.js is refused with both versions and what to do', (t) => {
  const problem = nodeVersionProblem('20.11.1', '>=20.19');
  t.truthy(problem);
  t.regex(problem!, />=20\.19/);
  t.regex(problem!, /this is Node\.js 20\.11\.1/);
  t.regex(problem!, /Install Node\.js 20\.19\.0 or newer/);
  t.truthy(nodeVersionProblem('v18.20.4', '>=20.19'), 'a leading v is the same version');
  t.truthy(nodeVersionProblem('20.18.9', '>=20.19.0'));
  t.truthy(nodeVersionProblem('20.19.0', '>=20.19.1'), 'the patch counts');
});

test('the required version and newer ones pass, compared as numbers', (t) => {
  for (const running of ['20.19.0', '20.19.5', '20.20.2', '21.0.0', '22.1.0', '100.0.0']) t.is(nodeVersionProblem(running, '>=20.19'), undefined, running);
  t.is(nodeVersionProblem('20.100.0', '>=20.19'), undefined, 'minor 100 is newer than minor 19');
});

test('an engines range it cannot read is an error, not a pass', (t) => {
  t.throws(() => nodeVersionProblem('20.19.0', '^20.19'), { message: /engines\.node must be ">=X\.Y\.Z"/ });
  t.throws(() => nodeVersionProblem('banana', '>=20.19'), { message: /not a version/ });
});

test('the running Node.js satisfies package.json (the check the CLI makes at start)', (t) => {
  const engines = (JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } }).engines.node;
  t.is(nodeVersionProblem(process.versions.node, engines), undefined);
});
