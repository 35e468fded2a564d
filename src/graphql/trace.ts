/**
 * Inline traces (ftv1) for a trusted router only. A trace shows how long every resolver took
 * and which failed, so an open subgraph must not hand it to whoever sends
 * `apollo-federation-include-trace: ftv1`.
 *
 * TRUSTED_GATEWAY holds a shared secret; the router adds it to every subgraph request as the
 * `X-Trusted-Gateway` header (Apollo Router: `headers.all.request: - insert: { name:
 * x-trusted-gateway, value: ... }`). Only a request carrying it gets a trace, and only when it
 * also asks for one. Error messages in traces stay masked. Without TRUSTED_GATEWAY inline
 * tracing is off altogether.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginInlineTrace } from '@apollo/server/plugin/inlineTrace';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import type { LimitSettings } from './limits/settings';
import { sameSecret } from '../shared/secrets';

const TRUSTED_GATEWAY_HEADER = 'x-trusted-gateway';

export function inlineTracePlugin<T extends object>(settings: LimitSettings): ApolloServerPlugin<T> {
  const secret = settings.trustedGateway;
  if (!secret) return ApolloServerPluginInlineTraceDisabled();
  const inline = ApolloServerPluginInlineTrace({ includeErrors: { masked: true } }) as ApolloServerPlugin<T>;
  // Keeps the plugin's internal id, so Apollo does not add its own always-on subgraph tracing.
  return {
    ...inline,
    async requestDidStart(requestContext) {
      if (!sameSecret(requestContext.request.http?.headers.get(TRUSTED_GATEWAY_HEADER), secret)) return;
      return inline.requestDidStart?.(requestContext);
    },
  };
}
