import { ApiRequestError } from '../api-client.js';
import type { CliCommand } from '../cli-command.js';
import { EXIT_CODES } from '../cli-command.js';
import { flagHelp } from '../flag-parser.js';
import { parseStressArgs, STRESS_FLAGS, STRESS_LIMITS } from '../stress-options.js';
import { renderHealthTable, renderStressHeader, renderStressJson, renderStressSummary, renderWaveLine } from '../stress-report.js';
import type { StressReport } from '../stress-report.js';
import { runStress } from '../stress-runner.js';

const HELP = `poolscope stress: send waves of concurrent requests to an app and watch its pools (seed 001's stress test)

Usage: poolscope stress --base-url http://127.0.0.1:PORT [options]

Options:
${flagHelp(STRESS_FLAGS)}

Reads pool health from the health URL (/readyz) before the first wave and after each one. A request fails when it
gets no answer (network error, timeout) or a status of 400 or more; redirects are not followed.
Bounds: at most ${STRESS_LIMITS.maxRequestsPerWave} requests per wave, ${STRESS_LIMITS.maxWaves} waves, ${STRESS_LIMITS.maxTotalRequests} requests per run; loopback hosts only unless --allow-remote.

Exit codes: 0 every wave ran (failures are reported, not an error); 1 with --fail-on-errors when a request failed;
2 bad usage (unknown flag, a bound exceeded, a remote host without --allow-remote); 3 the first health read failed
(nothing was sent); 130 interrupted (Ctrl-C: the summary so far is printed).

Examples:
  poolscope stress --base-url http://127.0.0.1:3001
  poolscope stress --base-url http://127.0.0.1:3001 --requests 100 --waves 20 --delay 500
  poolscope stress --base-url http://127.0.0.1:3001 --endpoint /api/workspaces --requests 20 --format json
`;

/** Shortest pause between two progress-line updates on a terminal. */
const PROGRESS_INTERVAL_MILLIS = 100;

/** `poolscope stress`: a bounded load generator that reports latencies and pool health per wave. */
export const stressCommand: CliCommand = {
  name: 'stress',
  summary: 'send waves of concurrent requests to a local app and report latency and pool health per wave',
  help: HELP,
  run: async (args, io) => {
    const options = parseStressArgs(args, io.env);
    const text = options.format === 'text';
    const live = text && io.stdout.isTTY === true;
    let progressShown = false;
    let lastProgress = 0;
    const clearProgress = (): void => {
      if (progressShown) io.stdout.write('\r\u001b[2K');
      progressShown = false;
    };
    if (text) io.stdout.write(renderStressHeader(options));
    let report: StressReport;
    try {
      report = await runStress(options, io.signal, {
        onInitialHealth: (reading) => {
          if (text) io.stdout.write(`${renderHealthTable('Pool health at start', reading)}\n`);
        },
        onProgress: (wave, done, failed) => {
          if (!live) return;
          const now = Date.now();
          if (done < options.requests && now - lastProgress < PROGRESS_INTERVAL_MILLIS) return;
          lastProgress = now;
          io.stdout.write(`\r\u001b[2Kwave ${wave}/${options.waves}: ${done}/${options.requests} done, ${failed} failed`);
          progressShown = true;
        },
        onWave: (wave) => {
          if (!text) return;
          clearProgress();
          io.stdout.write(renderWaveLine(wave, options.waves));
        },
      });
    } catch (error) {
      clearProgress();
      if (!(error instanceof ApiRequestError)) throw error;
      io.stderr.write(`poolscope stress: the first health read failed, nothing was sent: ${error.message}\n`);
      return EXIT_CODES.unreachable;
    }
    clearProgress();
    if (text) io.stdout.write(`\n${renderStressSummary(report)}`);
    else io.stdout.write(renderStressJson(report));
    if (report.interrupted) return EXIT_CODES.interrupted;
    return options.failOnErrors && report.summary.failed > 0 ? EXIT_CODES.problem : EXIT_CODES.ok;
  },
};
