/**
 * Connection strings safe to show: the password (and secret-looking parameters) masked. Pure string logic, used by
 * every adapter, the config loader and the CLI.
 */

/** `postgres://user:secret@host/db` -> `postgres://user:***@host/db`; unparseable strings are hidden whole. */
export function maskConnectionString(connectionString: string): string {
  // Without `scheme://`, `new URL` reads `user:secret@host/db` as scheme `user:` and would print the password.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(connectionString)) return '***';
  try {
    const url = new URL(connectionString);
    if (url.password !== '') url.password = '***';
    for (const key of [...url.searchParams.keys()]) {
      if (/pass|secret|key|token/i.test(key)) url.searchParams.set(key, '***');
    }
    return url.toString();
  } catch {
    return '***';
  }
}
