/**
 * Server-Sent Events framing for the dashboard stream: `event: <name>\ndata: <one line of JSON>\n\n`, and comment
 * frames (`: keep-alive\n\n`) that keep proxies from closing an idle connection.
 */

/** The events of `GET /api/stream`, in the order a client first sees them. */
export const STREAM_EVENT_NAMES = ['hello', 'state', 'tick', 'event', 'pools'] as const;
export type StreamEventName = (typeof STREAM_EVENT_NAMES)[number];

/** The keep-alive comment frame. */
export const SSE_KEEP_ALIVE = ': keep-alive\n\n';

/**
 * One SSE frame. `JSON.stringify` never emits a raw line break (they are escaped inside strings), so the data is
 * always one line; U+2028/U+2029 are escaped too, for readers that split on them.
 */
export function sseFrame(name: StreamEventName, data: unknown): string {
  const json = JSON.stringify(data) ?? 'null';
  return `event: ${name}\ndata: ${json.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')}\n\n`;
}

/** A comment frame (ignored by SSE readers); `text` must hold no line break. */
export function sseComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`;
}
