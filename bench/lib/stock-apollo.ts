/**
 * The ceiling of the fixed stack for `customer(id)`: a stock Apollo Server (graphql-js, no
 * plugins but the cost report the answer carries) over plain node:http, answering the scenario
 * with the floor's own statement (SQLite or PostgreSQL, bench/lib/floor.ts FloorAccess) and
 * byte-identical JSON. It has none of the gateway's work: no limits, rate limiting, cost
 * analysis, logging, DataLoader, Kysely or federation schema.
 *
 * What the gateway does per request beyond it is the price of those; what it costs against the
 * floor is Apollo Server's own. bench/perf.ts measures it in the same run as the gateway and the
 * floor, so the `customer(id)` target can be read against what the stack itself allows.
 */
import { ApolloServer, HeaderMap } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import SqliteDatabase from 'better-sqlite3';
import { configureSqliteConnection } from '../../src/store/sqlite-connection';
import { THROTTLE, after, customerJson, floorPool, keyCheck, postgresAccess, rawServer, sqliteAccess, type FloorAccess } from './floor';

const typeDefs = `
  type Address { city: String state: String country: String }
  type Customer {
    id: ID! email: String! name: String! firstName: String lastName: String phone: String
    type: String! status: String! version: Int! emailVerified: Boolean! signInCount: Int!
    netRevenue: String createdAt: String! updatedAt: String! billingAddress: Address
  }
  type Query { customer(id: ID!): Customer }
`;

interface Context {
  workspaceId: string;
}

async function serveStockApollo(access: FloorAccess, close: () => Promise<void>): Promise<{ port: number; close: () => Promise<void> }> {
  const apollo = new ApolloServer<Context>({
    typeDefs,
    resolvers: {
      Query: {
        customer: (_: unknown, args: { id: string }, context: Context) =>
          after(access.customer(context.workspaceId, args.id), (row) => (row ? customerJson(row) : null)),
      },
    },
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      {
        // The gateway's answer carries its query cost; the same figures as the floor's.
        async requestDidStart() {
          return {
            async willSendResponse({ response }) {
              if (response.body.kind !== 'single') return;
              const found = response.body.singleResult.data?.customer ? 2 : 1;
              response.body.singleResult.extensions = { cost: { requestedQueryCost: 2, actualQueryCost: found, throttleStatus: THROTTLE } };
            },
          };
        },
      },
    ],
  });
  await apollo.start();

  const server = await rawServer(keyCheck((hash) => access.workspaceOfHash(hash)), (req, res, workspaceId, body) => {
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
    apollo
      .executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: req.method ?? 'POST', headers, search: '', body },
        context: async () => ({ workspaceId }),
      })
      .then((response) => {
        for (const [name, value] of response.headers) res.setHeader(name, value);
        res.statusCode = response.status ?? 200;
        res.end(response.body.kind === 'complete' ? `${response.body.string}` : '');
      })
      .catch(() => res.writeHead(500).end());
  });
  return {
    port: server.port,
    close: async () => {
      server.close();
      await apollo.stop();
      await close();
    },
  };
}

export function startStockApollo(file: string): Promise<{ port: number; close: () => Promise<void> }> {
  const db = configureSqliteConnection(new SqliteDatabase(file));
  return serveStockApollo(sqliteAccess(db), async () => void db.close());
}

export function startPostgresStockApollo(databaseUrl: string): Promise<{ port: number; close: () => Promise<void> }> {
  const pool = floorPool(databaseUrl);
  return serveStockApollo(postgresAccess(pool), () => pool.end());
}
