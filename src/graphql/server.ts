/**
 * Builds the Apollo Server (schema, plugins, error masking); listening is src/http/server.ts's job.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { addResolversToSchema, checkForResolveTypeResolver } from '@graphql-tools/schema';
import { GraphQLScalarType, parse, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Context } from './context';
import { ErrorCode, createErrorFormatting, isExpected, type ErrorFormatting } from '../shared/errors';
import { projectionConcern } from './projection';
import { scopeConcern } from './scopes';
import { jitGateway } from './jit';
import { costConcern, defaultLimits, type Limits } from './limits/plugin';
import type { Resolvers } from '../generated/graphql';
import { limitServerOptions, type LimitSettings } from './limits/server-options';
import type { Logger } from '../shared/logger';
import { resolverModules } from './resolvers';
import { requestHooksPlugin, type RequestConcern } from './request-hooks';
import { idempotencyConcern } from './idempotency';
import { applyResolverPipeline } from './pipeline';
import { observationConcern } from './observation';

/** schema/ sits at the package root: two levels up from src/graphql/, three from dist/src/graphql/. */
export function schemaDir(): string {
  const candidates = [path.resolve(__dirname, '..', '..', 'schema'), path.resolve(__dirname, '..', '..', '..', 'schema')];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'base.graphql')));
  if (!found) throw new Error(`schema/ with base.graphql not found; looked in ${candidates.join(' and ')}`);
  return found;
}

function loadTypeDefs(): DocumentNode {
  const dir = schemaDir();
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.graphql')).sort((a, b) => (a === 'base.graphql' ? -1 : b === 'base.graphql' ? 1 : a.localeCompare(b)));
  return parse(files.map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n'));
}

/**
 * `__resolveReference` is Federation's, not a field: buildSubgraphSchema installs it (with
 * `_entities` and `_service`); the rest of each map is attached by addResolversToSchema.
 */
function splitReferenceResolvers(modules: readonly Resolvers[]): { references: Resolvers; fields: Resolvers[] } {
  const references: Record<string, unknown> = {};
  const fields = modules.map((module) => {
    const rest: Record<string, unknown> = {};
    for (const [type, resolvers] of Object.entries(module as Record<string, unknown>)) {
      if (resolvers instanceof GraphQLScalarType || typeof resolvers !== 'object' || resolvers === null || !('__resolveReference' in resolvers)) {
        rest[type] = resolvers;
        continue;
      }
      const { __resolveReference, ...others } = resolvers as Record<string, unknown>;
      references[type] = { __resolveReference };
      rest[type] = others;
    }
    return rest as Resolvers;
  });
  return { references: references as Resolvers, fields };
}

/**
 * The schema, in three steps: the subgraph from the SDL; each domain's resolver map attached,
 * where a resolver for anything the SDL lacks stops the start; then the resolver pipeline
 * (pipeline.ts: the entity guard, the deadline and idempotency around mutations).
 */
export function buildSchema(modules: readonly Resolvers[] = resolverModules): GraphQLSchema {
  const { references, fields } = splitReferenceResolvers(modules);
  const subgraph = buildSubgraphSchema([{ typeDefs: loadTypeDefs(), resolvers: references }]);
  const withResolvers = fields.reduce(
    (schema, resolvers) => addResolversToSchema({ schema, resolvers, resolverValidationOptions: { requireResolversToMatchSchema: 'error' } }),
    subgraph,
  );
  // Once every map is attached: an interface or union the domains may each contribute to.
  checkForResolveTypeResolver(withResolvers, 'error');
  return applyResolverPipeline(withResolvers);
}

/**
 * One log line per request; unexpected errors logged in full, with the request id, which
 * formatError quotes to the client.
 */
function requestLogging(logger: Logger, formatting: ErrorFormatting): RequestConcern<Context> {
  return ({ contextValue }) => {
    const started = process.hrtime.bigint();
    return {
      didEncounterErrors({ errors }) {
        formatting.noteRequest(errors, contextValue.requestId);
        for (const error of errors) {
          if (!isExpected(error) && !error.extensions?.code?.toString().startsWith('GRAPHQL_')) {
            logger.error({ request_id: contextValue.requestId, err: error.originalError ?? error, path: error.path }, 'unexpected error');
          }
        }
      },
      willSendResponse({ response, operationName, errors }) {
        // The line's fields cost a few allocations; skip them when info lines are not written.
        if (!logger.isLevelEnabled('info')) return;
        // The codes the client saw: formatError's, not the ones Apollo's wrappers gave the originals.
        const shown = response.body.kind === 'single' ? response.body.singleResult.errors : errors;
        logger.info(
          {
            request_id: contextValue.requestId,
            workspace: contextValue.workspace.name,
            operationName: operationName ?? null,
            durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e3) / 1e3,
            outcome: errors && errors.length > 0 ? 'error' : 'ok',
            errorCodes: shown?.map((e) => e.extensions?.code ?? ErrorCode.INTERNAL_SERVER_ERROR),
          },
          'graphql request',
        );
      },
    };
  };
}

export interface ServerOptions {
  logger: Logger;
  /** A schema from buildSchema (resolver pipeline applied); built here when left out. */
  schema?: GraphQLSchema;
  /** Request limits (src/graphql/limits); anything left out takes its default. */
  limits?: Partial<LimitSettings>;
  /** Execute with graphql-jit (src/graphql/jit.ts; default) or plain graphql-js. */
  jit?: boolean;
  /** Query cost limit and rate limiting; without it, the default cost limit and no rate limiting. */
  cost?: Limits;
  /** Narrow customer records throw when a field they were not read with is read (tests; src/graphql/projection.ts). */
  checkCustomerRecords?: boolean;
}

export function createApolloServer(options: ServerOptions): ApolloServer<Context> {
  const schema = options.schema ?? buildSchema();
  const limits = limitServerOptions<Context>(options.limits);
  const errorFormatting = createErrorFormatting();
  return new ApolloServer<Context>({
    // Compiled execution through Apollo's gateway hook: validation, plugins and formatError unchanged.
    ...(options.jit === false ? { schema } : { gateway: jitGateway(schema) }),
    validationRules: limits.validationRules,
    parseOptions: limits.parseOptions,
    formatError: errorFormatting.formatError,
    includeStacktraceInErrorResponses: false,
    // "Did you mean ...?" suggestions would describe the schema to callers without a key.
    hideSchemaDetailsFromClientErrors: true,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    // src/index.ts drains HTTP first, then stops Apollo and closes the database, in that order.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      // No cache hints are used; the default cache-control plugin wraps every field.
      ApolloServerPluginCacheControlDisabled(),
      // Inline traces (ftv1) only for a trusted router. Ahead of the request hooks, so its trace
      // is in the response's extensions before the cost report, as when it sat among the limits.
      ...limits.plugins,
      // Limits, scopes, logging, cost, idempotency and narrowed customer reads: one plugin, so a request pays for one listener (src/graphql/request-hooks.ts).
      requestHooksPlugin<Context>([
        // First, so it sees every request Apollo answers (src/graphql/observation.ts); only when the HTTP front observes it.
        observationConcern(),
        ...limits.concerns,
        // The SDL's @authenticated/@requiresScopes, before anything is charged, claimed or run.
        scopeConcern(schema),
        requestLogging(options.logger, errorFormatting),
        costConcern(options.cost ?? defaultLimits(), options.logger),
        idempotencyConcern(),
        projectionConcern({ checkRecords: options.checkCustomerRecords }),
      ]),
    ],
  });
}
