// Runs async tasks one after another, in the order given: what shares one llama.cpp context, one
// sequence or one set of segment files uses one of these. A failed task does not stop the ones
// after it; idle() resolves once everything queued so far has settled (for dispose()).
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => T | Promise<T>): Promise<T> {
    const next = this.tail.then(task, task);
    this.tail = next.catch(() => undefined);
    return next;
  }

  idle(): Promise<void> {
    return this.tail.then(() => undefined);
  }
}
