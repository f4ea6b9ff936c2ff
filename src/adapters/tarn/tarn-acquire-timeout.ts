/**
 * tarn's acquire timeout: a `TimeoutError` (tarn's own class, `name` left as `Error`; its message is "operation
 * timed out for an unknown reason", or the last create error's).
 */
export function isTarnTimeout(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return error.name === 'TimeoutError' || error.constructor?.name === 'TimeoutError';
}
