import type { OpsResponse } from './ops-response.js';
import { jsonResponse } from './ops-response.js';

/** The body of `GET /health`. */
export interface LivenessReport {
  readonly status: 'ok';
}

/**
 * `GET /health`: liveness. Public (no access check) and constant: it answers while the process can answer HTTP and
 * never touches a pool or the database, so a slow database cannot get the process restarted.
 */
export function healthRoute(): OpsResponse {
  const body: LivenessReport = { status: 'ok' };
  return jsonResponse(200, body);
}
