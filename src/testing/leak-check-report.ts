import type { LeaseSnapshot } from '../core/lease.js';
import type { ServerSessionSnapshot } from '../server/activity-inspector.js';

/** What `assertNoLeakedConnections` found, and the message that lists it (one line per lease and per session). */

export interface Findings {
  readonly leases: LeaseSnapshot[];
  readonly sessions: ServerSessionSnapshot[];
}

/** One line per lease and per session, readable in a test runner's output. */
export function leakMessage(found: Findings, graceMillis: number): string {
  const counts = [
    found.leases.length > 0 ? `${found.leases.length} connection${found.leases.length === 1 ? '' : 's'} still checked out` : '',
    found.sessions.length > 0 ? `${found.sessions.length} server session${found.sessions.length === 1 ? '' : 's'} still open` : '',
  ].filter((part) => part !== '');
  const lines = [`poolscope: ${counts.join(' and ')} after ${graceMillis} ms:`];
  for (const lease of found.leases) lines.push(`  ${leaseLine(lease)}`);
  for (const session of found.sessions) lines.push(`  ${sessionLine(session)}`);
  lines.push('Release every client you check out (client.release()) and end the clients you connect (client.end()).');
  return lines.join('\n');
}

function leaseLine(lease: LeaseSnapshot): string {
  const parts = [`lease #${lease.id} of pool "${lease.poolName}"`, `held ${Math.round(lease.heldMillis)} ms`];
  if (lease.owner !== null) parts.push(`owner ${lease.owner.kind} "${lease.owner.label}"`);
  parts.push(`checked out at ${lease.location ?? "(no stack captured; use stackCapture: 'always')"}`);
  if (lease.transaction.status !== 'idle' && lease.transaction.status !== 'unknown') parts.push(lease.transaction.status);
  if (lease.query !== null) parts.push(`query ${quoteQuery(lease.query.text)}`);
  if (lease.backendPid !== null) parts.push(`backend pid ${lease.backendPid}`);
  return parts.join(', ');
}

function sessionLine(session: ServerSessionSnapshot): string {
  const parts = [`session pid ${session.pid}`, `application_name ${JSON.stringify(session.applicationName)}`];
  if (session.user !== null) parts.push(`user ${session.user}`);
  if (session.database !== null) parts.push(`database ${session.database}`);
  const state = session.state ?? 'state hidden';
  parts.push(session.stateAgeMillis === null ? state : `${state} for ${Math.round(session.stateAgeMillis)} ms`);
  if (session.query !== null && session.query !== '') parts.push(`last query ${quoteQuery(session.query)}`);
  return parts.join(', ');
}

function quoteQuery(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(line.length > 120 ? `${line.slice(0, 117)}...` : line);
}
