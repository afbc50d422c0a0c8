import assert from 'node:assert/strict';
import test from 'node:test';
import { SerialQueue } from './SerialQueue.ts';

test('tasks run one at a time in order; a failure does not stop the next; idle waits for all', async () => {
  const queue = new SerialQueue();
  const log: string[] = [];
  let running = 0;
  const task = (name: string, ms: number, fail = false) => async () => {
    running++;
    assert.equal(running, 1, 'never two at once');
    await new Promise((resolve) => setTimeout(resolve, ms));
    log.push(name);
    running--;
    if (fail) throw new Error(name);
    return name;
  };
  const a = queue.run(task('a', 30));
  const b = queue.run(task('b', 5, true));
  const c = queue.run(task('c', 1));
  await assert.rejects(b, /b/);
  assert.equal(await a, 'a');
  assert.equal(await c, 'c');
  await queue.idle();
  assert.deepEqual(log, ['a', 'b', 'c']);
});
