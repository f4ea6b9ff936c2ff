import { HttpRouteError, OptionsError } from '../errors.js';
import type { OpsResponse } from './ops-response.js';
import { textResponse } from './ops-response.js';

/**
 * Where `GET /metrics` gets the Prometheus exposition: poolscope's `PrometheusExporter`, or a prom-client
 * `Registry` (the same shape).
 */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/** Checks the `metrics` option at setup. */
export function validateMetricsSource(source: unknown): MetricsSource | undefined {
  if (source === undefined) return undefined;
  const candidate = source as Partial<MetricsSource> | null;
  if (candidate === null || typeof candidate !== 'object' || typeof candidate.metrics !== 'function' || typeof candidate.contentType !== 'string') {
    throw new OptionsError(
      'metrics',
      source,
      "an object with a contentType string and a metrics() method, e.g. new PrometheusExporter(inspector) from 'poolscope/prometheus' or a prom-client Registry",
    );
  }
  return candidate as MetricsSource;
}

/**
 * `GET /metrics`: the exposition of `source`, with its content type. Without a source: 404
 * `POOLSCOPE_ERR_HTTP_METRICS_DISABLED` saying how to enable it.
 */
export async function metricsRoute(source: MetricsSource | undefined): Promise<OpsResponse> {
  if (source === undefined) {
    throw new HttpRouteError(
      404,
      'POOLSCOPE_ERR_HTTP_METRICS_DISABLED',
      "Prometheus metrics are not enabled on these ops routes. Pass a source: { metrics: new PrometheusExporter(inspector) } with PrometheusExporter from 'poolscope/prometheus' (needs prom-client), or any prom-client Registry.",
    );
  }
  const text = await source.metrics();
  return textResponse(200, source.contentType, text);
}
