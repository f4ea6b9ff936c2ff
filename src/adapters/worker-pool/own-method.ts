/**
 * Replaces a method of one object by an own property, and puts back what was there: the worker pool adapters wrap
 * a pool instance's (and a worker handler's) methods this way, never a prototype.
 */

/**
 * Sets `target[key] = wrapper` and returns the function that undoes it (idempotent): the previous own property is
 * restored, or the own property deleted when the method came from the prototype. Nothing is undone when someone
 * else replaced the method since.
 */
export function replaceOwnMethod<K extends string>(target: Record<K, unknown>, key: K, wrapper: unknown): () => void {
  const hadOwn = Object.prototype.hasOwnProperty.call(target, key);
  const previous = target[key];
  target[key] = wrapper;
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    if (target[key] !== wrapper) return;
    if (hadOwn) target[key] = previous;
    else delete target[key];
  };
}
