/**
 * Child process for test/support/crash-window-child.ts, run with spawnSync while that process blocks its event loop:
 * waits until the session named `application_name` is idle and blocked reading from its client (state 'idle',
 * wait_event 'ClientRead', so its last answer, ReadyForQuery included, has been sent), optionally only once its
 * last query contains `marker`; then terminates it with pg_terminate_backend(pid, timeout), which waits until the
 * backend has exited, i.e. until the FATAL 57P01 has been written to the socket. Prints the pid; exits 2 on failure.
 *
 *     node --import tsx test/support/terminate-backend-child.ts <adminUrl> <application_name> [marker]
 */
import pg from 'pg';

const [adminUrl, applicationName, marker = ''] = process.argv.slice(2);
if (adminUrl === undefined || applicationName === undefined) {
  process.stderr.write('usage: terminate-backend-child.ts <adminUrl> <application_name> [marker]\n');
  process.exit(2);
}

const BOUND_MILLIS = 20_000;
const client = new pg.Client({ connectionString: adminUrl, application_name: 'poolscope-test-terminator' });
client.on('error', () => undefined);
try {
  await client.connect();
  const deadline = Date.now() + BOUND_MILLIS;
  let pid: number | undefined;
  while (pid === undefined) {
    const { rows } = await client.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
        WHERE application_name = $1 AND state = 'idle' AND wait_event = 'ClientRead' AND strpos(query, $2) > 0`,
      [applicationName, marker],
    );
    if (rows.length > 1) throw new Error(`${rows.length} sessions named ${applicationName}; expected one`);
    pid = rows[0]?.pid;
    if (pid === undefined) {
      if (Date.now() > deadline) throw new Error(`no idle session named ${applicationName} (marker '${marker}') within ${BOUND_MILLIS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  const { rows } = await client.query<{ done: boolean }>('SELECT pg_terminate_backend($1, $2) AS done', [pid, BOUND_MILLIS]);
  if (rows[0]?.done !== true) throw new Error(`backend ${pid} did not exit within ${BOUND_MILLIS} ms`);
  process.stdout.write(`${pid}\n`);
  await client.end();
} catch (error) {
  process.stderr.write(`terminate-backend-child: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}
