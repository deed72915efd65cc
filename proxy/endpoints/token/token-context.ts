/**
 * What every step of the token endpoint is handed: the configuration generation the request is
 * served by, metrics, the logger and the request id. Its own file so that grants (exchange/) and
 * steps never import the endpoint that runs them.
 */
import type { Logger } from '../../observability/log.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Runtime } from '../../runtime/runtime.js';

export interface TokenEndpointContext {
  runtime: Runtime;
  metrics: Metrics;
  logger: Logger;
  requestId: string;
}
