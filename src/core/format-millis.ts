/** A duration for people: `412 ms` under a second, else `1.5 s` (one decimal). */
export function formatMillis(millis: number): string {
  if (millis < 1000) return `${Math.round(millis)} ms`;
  return `${(millis / 1000).toFixed(1)} s`;
}
