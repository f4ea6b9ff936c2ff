import { IdentifierError, describeValue } from '../errors.js';

/** PostgreSQL's identifier limit (NAMEDATALEN - 1), in bytes; longer names are silently truncated by the server. */
export const MAX_IDENTIFIER_BYTES = 63;

/**
 * Quotes a PostgreSQL identifier: wraps it in double quotes and doubles any double quote inside. Throws on an empty
 * name, a NUL character, or a name longer than 63 bytes (the server would truncate it and act on another object).
 */
export function quoteIdentifier(name: string): string {
  if (typeof name !== 'string' || name === '' || name.includes('\u0000')) {
    throw new IdentifierError(name, `quoteIdentifier: ${describeValue(name)} is not a usable identifier (empty, not a string, or has NUL)`);
  }
  if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) {
    throw new IdentifierError(name, `quoteIdentifier: ${describeValue(name)} is longer than ${MAX_IDENTIFIER_BYTES} bytes`);
  }
  return `"${name.replace(/"/g, '""')}"`;
}
