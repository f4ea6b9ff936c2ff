import { OptionsError, TenantPoolError, describeValue } from '../errors.js';
import { MAX_IDENTIFIER_BYTES } from '../postgres/identifier-quoting.js';

/**
 * Tenant ids and the PostgreSQL database names built from them. A tenant's database is `databasePrefix + tenantId`;
 * both parts are restricted so the name is a plain lowercase identifier, and it is still always quoted in SQL
 * (quoteIdentifier, shared with the rest of poolscope and re-exported here as a public name of poolscope/tenants).
 */
export { MAX_IDENTIFIER_BYTES, quoteIdentifier } from '../postgres/identifier-quoting.js';

/** The characters a tenant id may use: lowercase ASCII letters, digits and underscore. */
export const TENANT_ID_PATTERN = /^[a-z0-9_]+$/;

/** The characters a database prefix may use (it may be empty); it must not start with a digit. */
export const DATABASE_PREFIX_PATTERN = /^(?:[a-z_][a-z0-9_]*)?$/;

/** Checks a database prefix (an option); throws OptionsError naming what is wrong. */
export function validateDatabasePrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || !DATABASE_PREFIX_PATTERN.test(prefix)) {
    throw new OptionsError(
      'databasePrefix',
      prefix,
      "a string of a-z 0-9 _ that does not start with a digit (e.g. 'tenant_'), or ''",
    );
  }
  if (prefix.length >= MAX_IDENTIFIER_BYTES) {
    throw new OptionsError('databasePrefix', prefix, `at most ${MAX_IDENTIFIER_BYTES - 1} characters, to leave room for tenant ids`);
  }
  return prefix;
}

/** The longest tenant id a prefix leaves room for. */
export function maxTenantIdLength(prefix: string): number {
  return MAX_IDENTIFIER_BYTES - Buffer.byteLength(prefix, 'utf8');
}

/**
 * Validates `tenantId` and returns its database name (`prefix + tenantId`). Throws TenantPoolError
 * `POOLSCOPE_ERR_TENANT_INVALID_ID` saying what is wrong and how to fix it.
 */
export function tenantDatabaseName(prefix: string, tenantId: unknown): string {
  if (typeof tenantId !== 'string') {
    throw invalid(tenantId, `Tenant id must be a string; got ${describeValue(tenantId)}. Use ids of a-z 0-9 _ (e.g. 'acme_42').`);
  }
  if (tenantId === '') {
    throw invalid(tenantId, "Tenant id is empty. Use 1 or more characters of a-z 0-9 _ (e.g. 'acme_42').");
  }
  const room = maxTenantIdLength(prefix);
  if (!TENANT_ID_PATTERN.test(tenantId)) {
    const bad = [...new Set([...tenantId].filter((ch) => !/[a-z0-9_]/.test(ch)))].slice(0, 5);
    const hint = /[A-Z]/.test(tenantId) ? ` (ids are lowercase: try ${JSON.stringify(tenantId.toLowerCase())})` : '';
    throw invalid(
      tenantId,
      `Tenant id ${describeValue(tenantId)} has characters outside a-z 0-9 _: ${bad.map((ch) => JSON.stringify(ch)).join(', ')}${hint}. ` +
        'Map your tenant keys to ids of lowercase letters, digits and underscores.',
    );
  }
  if (tenantId.length > room) {
    throw invalid(
      tenantId,
      `Tenant id ${describeValue(tenantId)} is ${tenantId.length} characters; with the database prefix ${JSON.stringify(prefix)} ` +
        `the database name would pass PostgreSQL's ${MAX_IDENTIFIER_BYTES}-byte identifier limit. Use at most ${room} characters ` +
        '(or a shorter databasePrefix).',
    );
  }
  return prefix + tenantId;
}

/** True when `tenantId` is a valid id under `prefix` (no error built). */
export function isValidTenantId(prefix: string, tenantId: unknown): boolean {
  return typeof tenantId === 'string' && TENANT_ID_PATTERN.test(tenantId) && tenantId.length <= maxTenantIdLength(prefix);
}

function invalid(tenantId: unknown, message: string): TenantPoolError {
  return new TenantPoolError('POOLSCOPE_ERR_TENANT_INVALID_ID', typeof tenantId === 'string' ? tenantId : undefined, message);
}
