/**
 * A promise whose failure is seen when (and if) someone awaits it; until then
 * it does not count as unhandled (which would end the process).
 */
export function settleLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
