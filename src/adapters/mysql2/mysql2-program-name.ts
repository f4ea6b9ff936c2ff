import type { Mysql2ConnectionConfig } from './mysql2-types.js';

/**
 * The `program_name` connection attribute of a mysql2 pool's connections: MySQL's (and MariaDB's) counterpart of
 * PostgreSQL's application_name. mysql2 sends `connectAttributes` at the handshake (`_client_name`,
 * `_client_version` and the user's own); the server shows them in performance_schema.session_connect_attrs when
 * performance_schema is ON. New connections of a pool copy the pool's `connectionConfig`, so an attribute set there
 * reaches every connection opened from then on; connections already open keep theirs.
 */

/** The attribute poolscope sets (the name the MySQL clients and tools use for the program). */
export const MYSQL_PROGRAM_NAME_ATTRIBUTE = 'program_name';

/** The program_name a pool's new connections send: the user's own (`connectAttributes.program_name`), if any. */
export function mysql2ProgramNameOf(connectionConfig: Mysql2ConnectionConfig): string | undefined {
  const value = connectionConfig.connectAttributes?.[MYSQL_PROGRAM_NAME_ATTRIBUTE];
  return value === undefined || value === null ? undefined : String(value);
}

/** The attributes object poolscope put in place, and the one it replaced (to put it back). */
export interface ProgramNaming {
  readonly name: string;
  readonly attributes: Record<string, unknown>;
  readonly hadOwn: boolean;
  readonly previous: Mysql2ConnectionConfig['connectAttributes'];
}

/**
 * Sets `program_name` to `name` for the connections the pool opens from now on, unless the pool's config sets one
 * (`connectAttributes.program_name` always wins). Replaces the attributes object (a copy with the name added)
 * rather than changing the user's. Returns what to undo, if set.
 */
export function nameMysql2Connections(connectionConfig: Mysql2ConnectionConfig, name: string): ProgramNaming | undefined {
  if (mysql2ProgramNameOf(connectionConfig) !== undefined) return undefined;
  const previous = connectionConfig.connectAttributes;
  const attributes = { ...(previous ?? {}), [MYSQL_PROGRAM_NAME_ATTRIBUTE]: name };
  const naming = { name, attributes, hadOwn: Object.hasOwn(connectionConfig, 'connectAttributes'), previous };
  connectionConfig.connectAttributes = attributes;
  return naming;
}

/** Puts back the attributes that were there before nameMysql2Connections, unless someone replaced them since. */
export function unnameMysql2Connections(connectionConfig: Mysql2ConnectionConfig, naming: ProgramNaming): void {
  if (connectionConfig.connectAttributes !== naming.attributes) return;
  if (naming.hadOwn) connectionConfig.connectAttributes = naming.previous;
  else delete connectionConfig.connectAttributes;
}
