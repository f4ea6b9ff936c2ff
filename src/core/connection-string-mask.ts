/**
 * Connection strings safe to show: the password (and secret-looking parameters) masked. Pure string logic, used by
 * every adapter, the config loader and the CLI.
 *
 * Written by hand, not with `new URL()`: a password may hold `?`, `#`, `/`, `@`, `:` or `%` unencoded, and a URL
 * parser then reads part of it as a port, a path or a query and prints it (`postgres://app:4242?S3cretPW@db/app`
 * parses as host `app`, port `4242`). Here the credentials are everything between `://` and the LAST `@` of the
 * string: a host never holds `@`, so a password cannot reach past it. When an `@` sits in the path or the query,
 * more is masked than needed, never less (`postgres://app:pw@db/app?application_name=me@laptop` shows as
 * `postgres://app:***@laptop`; with a secret-looking parameter open before that `@`, as `postgres://***`).
 */

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const MASK = '***';
/** Query parameters whose value is masked (password, sslpassword, sslkey, api_token, client_secret, ...). */
const SECRET_PARAMETER = /pass|secret|key|token/i;
/**
 * A user name shown as written: RFC 3986 userinfo characters without `:` (plus a raw `@`, as in Azure's
 * `user@server`). Anything else (a `/`, `?`, `#`, a space) means the text before the last `@` is not a plain user
 * name (e.g. `host/db?password=x&user=a@b`): it is masked whole.
 */
const PLAIN_USER = /^[A-Za-z0-9._~%!$&'()*+,;=@-]*$/;
/** One host: a bracketed IPv6 address or a name / IPv4 / percent-encoded socket directory, with an optional port. */
const HOST = String.raw`(?:\[[0-9A-Za-z:.%_-]*\]|[A-Za-z0-9._~%-]*)(?::[0-9]*)?`;
/** The host part: one host or a comma-separated list (`h1:5432,h2:5433`), possibly empty (`postgres:///db`). */
const HOSTS = new RegExp(`^${HOST}(?:,${HOST})*$`);

/**
 * `postgres://user:secret@host/db` -> `postgres://user:***@host/db`, whatever the password holds; secret-looking
 * query parameters (`password=`, `sslkey=`, `token=`...) get `***` as value and a fragment is masked. Text without
 * a `scheme://` is hidden whole (`user:secret@host` would otherwise pass for a scheme and a path). Never throws.
 */
export function maskConnectionString(connectionString: string): string {
  try {
    return mask(connectionString);
  } catch {
    return MASK;
  }
}

function mask(text: string): string {
  if (typeof text !== 'string') return MASK;
  const scheme = SCHEME.exec(text)?.[0];
  if (scheme === undefined) return MASK;
  const rest = text.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  if (at === -1) return scheme + maskLocation(rest);
  const userinfo = rest.slice(0, at);
  // Read the other way, the last '@' may sit inside a query value (`?password=a@b` is valid for pg): if a
  // secret-looking parameter could be open there, what follows the '@' may be the rest of its value.
  if (secretParameterOpen(userinfo)) return scheme + MASK;
  const user = maskUserinfo(userinfo);
  // Text before the '@' that is not credentials and holds a '#': what follows the '@' is fragment, masked.
  if (user === MASK && userinfo.includes('#')) return `${scheme}${MASK}@${MASK}`;
  // A '?' before the '@' may have opened the query (`?application_name=me@laptop&host=/tmp&password=x`): what
  // follows may still be query pairs, masked as such (and whole when it does not start with a host list).
  return `${scheme}${user}@${maskLocation(rest.slice(at + 1), userinfo.includes('?'))}`;
}

/** True when `text` may end inside the value of a secret-looking query parameter (`...?sslmode=x&password=a`). */
function secretParameterOpen(text: string): boolean {
  const queryAt = text.indexOf('?');
  if (queryAt === -1) return false;
  const lastPair = text.slice(Math.max(queryAt, text.lastIndexOf('&')) + 1);
  const equals = lastPair.indexOf('=');
  return equals !== -1 && isSecretName(lastPair.slice(0, equals));
}

/** `user:password` -> `user:***`; `user` stays; anything that is not plainly a user name -> `***`. */
function maskUserinfo(userinfo: string): string {
  const colon = userinfo.indexOf(':');
  const user = colon === -1 ? userinfo : userinfo.slice(0, colon);
  if (!PLAIN_USER.test(user)) return MASK;
  return colon === -1 ? user : `${user}:${MASK}`;
}

/**
 * `host:port/db?query#fragment` (after the credentials): hosts and path as written, secrets masked. `queryOpen`:
 * the query may have begun before this text, so the path is read as query pairs too, and all of it is masked when
 * it does not start with a host list.
 */
function maskLocation(location: string, queryOpen = false): string {
  const hashAt = location.indexOf('#');
  const body = hashAt === -1 ? location : location.slice(0, hashAt);
  const hostEnd = firstIndexOf(body, ['/', '?']);
  const hosts = body.slice(0, hostEnd);
  const isHostList = HOSTS.test(hosts);
  let out: string;
  if (queryOpen && !isHostList) {
    out = MASK;
  } else {
    // Not a host list (e.g. `app:S3cret` without any `@`): it may be credentials, so it is not shown.
    const tail = body.slice(hostEnd);
    const queryAt = tail.indexOf('?');
    const path = queryAt === -1 ? tail : tail.slice(0, queryAt);
    out = (isHostList ? hosts : MASK) + (queryOpen ? maskQuery(path) : path);
    if (queryAt !== -1) out += `?${maskQuery(tail.slice(queryAt + 1))}`;
  }
  if (hashAt !== -1) out += hashAt === location.length - 1 ? '#' : `#${MASK}`;
  return out;
}

/** `a=1&password=x` -> `a=1&password=***`: pairs kept as written, secret-looking names (decoded) masked. */
function maskQuery(query: string): string {
  return query
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      if (equals === -1) return pair;
      const name = pair.slice(0, equals);
      return isSecretName(name) ? `${name}=${MASK}` : pair;
    })
    .join('&');
}

/**
 * Whether a query parameter name, read the way pg reads it, looks secret: a URL parser drops every tab, LF and CR
 * (`pa<TAB>ssword` is `password`), then URLSearchParams decodes `+` and valid `%XX`.
 */
function isSecretName(name: string): boolean {
  const stripped = name.replace(/[\t\n\r]/g, '');
  const decoded = new URLSearchParams(`${stripped}=`).keys().next().value ?? stripped;
  return SECRET_PARAMETER.test(decoded) || SECRET_PARAMETER.test(stripped);
}

function firstIndexOf(text: string, characters: readonly string[]): number {
  let first = text.length;
  for (const character of characters) {
    const index = text.indexOf(character);
    if (index !== -1 && index < first) first = index;
  }
  return first;
}
