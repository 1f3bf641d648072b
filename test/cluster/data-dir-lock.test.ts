import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirLockedError, LOCK_FILE, lockDataDir, pidAlive } from '../../src/cluster/data-dir-lock.js';

function scratch(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'pk-lock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the lock holds the pid; a second taker is refused with the directory and the holder pid; release frees it', (t) => {
  const dir = join(scratch(t), 'data'); // created by the lock
  const alive = (pid: number): boolean => pid === 1111 || pid === 2222;
  const first = lockDataDir(dir, 1111, alive);
  t.is(readFileSync(join(dir, LOCK_FILE), 'utf8'), '1111\n');
  const error = t.throws(() => lockDataDir(dir, 2222, alive), { instanceOf: DataDirLockedError });
  t.is(error.holderPid, 1111);
  t.is(error.dataDir, dir);
  t.regex(error.message, new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is held by another running cluster \\(pid 1111`));
  t.is(readFileSync(join(dir, LOCK_FILE), 'utf8'), '1111\n', 'a refused taker leaves the lock alone');
  first.release();
  t.false(existsSync(join(dir, LOCK_FILE)));
  const second = lockDataDir(dir, 2222, alive);
  t.is(readFileSync(join(dir, LOCK_FILE), 'utf8'), '2222\n');
  first.release(); // not first's any more: a late release must not free the new holder's lock
  t.is(readFileSync(join(dir, LOCK_FILE), 'utf8'), '2222\n');
  second.release();
  t.deepEqual(readdirSync(dir), [], 'no temporary files left');
});

test('a stale lock (its pid is dead) and an unreadable one are taken over', (t) => {
  const dir = scratch(t);
  writeFileSync(join(dir, LOCK_FILE), '4242\n');
  const lock = lockDataDir(dir, 5555, (pid) => pid === 5555);
  t.is(readFileSync(join(dir, LOCK_FILE), 'utf8'), '5555\n');
  lock.release();
  writeFileSync(join(dir, LOCK_FILE), ''); // a holder killed between creating the file and writing it
  lockDataDir(dir, 5555, (pid) => pid === 5555).release();
  t.deepEqual(readdirSync(dir), []);
});

test('pidAlive: this process is alive, an exited child is not', async (t) => {
  t.true(pidAlive(process.pid));
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((done) => child.once('exit', done));
  t.false(pidAlive(child.pid!));
});
