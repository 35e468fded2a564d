/**
 * The gateway's request hooks run as one Apollo plugin (src/graphql/request-hooks.ts). These suites
 * check that it behaves exactly as the same hooks did as separate async plugins (same
 * responses, same hooks called in the same order, a throw in one hook not stopping the next),
 * and that the request log line, written by one of those hooks, still says what it said.
 */
import { ApolloServer, HeaderMap, type ApolloServerPlugin, type BaseContext, type GraphQLRequestListener } from '@apollo/server';
import pino from 'pino';
import { GraphQLError } from 'graphql';
import { createContext } from '../src/graphql/context';
import { requestHooksPlugin, type RequestConcern, type RequestHooks } from '../src/graphql/request-hooks';
import { createApolloServer } from '../src/graphql/server';
import { issueKey } from '../src/services/keys';
import { migrateToLatest, type Store } from '../src/store/db';
import { createTestDatabase, type TestDatabase } from './databases';

interface Ctx extends BaseContext {
  calls: string[];
}

const typeDefs = `type Query { hello: String, boom: String }`;
const resolvers = {
  Query: {
    hello: () => 'world',
    boom: () => {
      throw new Error('resolver failed');
    },
  },
};

const pause = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Concerns that log every call, and throw, answer or wait where a request's `x` extension
 * says so: every combination the gateway's own concerns use (sync, async, throwing, replacing
 * the response, writing extensions).
 */
function concern(name: string): RequestConcern<Ctx> {
  return ({ request, contextValue }) => {
    const wants = (what: string) => ((request.extensions?.x as string[] | undefined) ?? []).includes(`${name}:${what}`);
    if (wants('skip')) return undefined;
    const hooks: RequestHooks<Ctx> = {
      didResolveOperation() {
        contextValue.calls.push(`${name}.didResolveOperation`);
        if (wants('throw')) throw new GraphQLError(`${name} refused`, { extensions: { code: 'REFUSED', http: { status: 400 } } });
        if (wants('async-throw')) {
          return pause().then(() => {
            throw new GraphQLError(`${name} refused later`, { extensions: { code: 'REFUSED_LATER', http: { status: 409 } } });
          });
        }
        if (wants('wait')) return pause().then(() => void contextValue.calls.push(`${name}.waited`));
      },
      executionDidStart() {
        contextValue.calls.push(`${name}.executionDidStart`);
      },
      didEncounterErrors({ errors }) {
        contextValue.calls.push(`${name}.didEncounterErrors:${errors.length}`);
      },
      willSendResponse({ response }) {
        contextValue.calls.push(`${name}.willSendResponse`);
        if (response.body.kind === 'single') {
          response.body.singleResult.extensions = { ...response.body.singleResult.extensions, [name]: true };
        }
        if (wants('send-throw')) throw new Error(`${name} failed while sending`);
      },
    };
    if (wants('answer')) {
      hooks.responseForOperation = async () => {
        contextValue.calls.push(`${name}.responseForOperation`);
        return { http: { status: 201, headers: new HeaderMap([['x-answered-by', name]]) }, body: { kind: 'single', singleResult: { data: { hello: name } } } };
      };
    }
    return hooks;
  };
}

/** The same concern as its own plugin with async hooks, as the gateway's plugins were written before. */
function asPlugin(one: RequestConcern<Ctx>): ApolloServerPlugin<Ctx> {
  return {
    async requestDidStart(requestContext) {
      const hooks = one(requestContext);
      if (!hooks) return;
      const listener: GraphQLRequestListener<Ctx> = {
        async didResolveOperation(rc) {
          await hooks.didResolveOperation?.(rc);
        },
        async executionDidStart(rc) {
          await hooks.executionDidStart?.(rc);
        },
        async didEncounterErrors(rc) {
          await hooks.didEncounterErrors?.(rc);
        },
        async willSendResponse(rc) {
          await hooks.willSendResponse?.(rc);
        },
      };
      if (hooks.responseForOperation) listener.responseForOperation = async (rc) => (await hooks.responseForOperation?.(rc)) ?? null;
      return listener;
    },
  };
}

const names = ['first', 'second', 'third'];

async function serve(plugins: ApolloServerPlugin<Ctx>[]): Promise<ApolloServer<Ctx>> {
  // Apollo's own logger would print the willSendResponse throw of one case to the console.
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const server = new ApolloServer<Ctx>({ typeDefs, resolvers, plugins, includeStacktraceInErrorResponses: false, logger: quiet });
  await server.start();
  return server;
}

describe('one plugin of request hooks', () => {
  let separate: ApolloServer<Ctx>;
  let combined: ApolloServer<Ctx>;

  beforeAll(async () => {
    separate = await serve(names.map((name) => asPlugin(concern(name))));
    combined = await serve([requestHooksPlugin(names.map(concern))]);
  });

  afterAll(async () => {
    await separate.stop();
    await combined.stop();
  });

  async function run(server: ApolloServer<Ctx>, query: string, x: string[]) {
    const contextValue: Ctx = { calls: [] };
    const settled = await server.executeOperation({ query, extensions: { x } }, { contextValue }).then(
      (response) => ({ status: response.http.status, headers: [...response.http.headers], body: response.body }),
      (error: Error) => ({ failed: error.message }),
    );
    // Let hooks still running after the response (a concern that lost a race) finish logging.
    await pause();
    await pause();
    return { ...settled, calls: contextValue.calls };
  }

  /**
   * The one deliberate difference: didResolveOperation stops at a synchronous refusal, so the
   * concerns after it are not asked to start work (charge, claim) they would only undo. The
   * last element lists the concerns whose didResolveOperation is therefore not called.
   */
  const cases: [string, string, string[], string[]?][] = [
    ['every hook of every concern, in order', '{ hello }', []],
    ['a concern with nothing to do in a request', '{ hello }', ['second:skip']],
    ['a resolver error reaches didEncounterErrors', '{ boom }', []],
    ['a synchronous refusal: the later concerns do not resolve the operation, their other hooks run', '{ hello }', ['first:throw'], ['second', 'third']],
    ['two refusals: the first one wins', '{ hello }', ['second:throw', 'third:throw'], ['third']],
    ['a refusal that comes after waiting', '{ hello }', ['first:async-throw', 'third:wait']],
    ['a concern that waits before the operation runs', '{ hello }', ['second:wait']],
    ['a concern that answers instead of executing', '{ hello }', ['second:answer']],
    ['two concerns that could answer: the first one does', '{ hello }', ['second:answer', 'third:answer']],
    ['a willSendResponse that throws', '{ hello }', ['first:send-throw']],
    ['a syntax error (no operation)', '{ hello', []],
  ];

  it.each(cases)('answers as separate plugins do: %s', async (_name, query, x, notResolving = []) => {
    const expected = await run(separate, query, x);
    const actual = await run(combined, query, x);
    const skipped = new Set(notResolving.map((name) => `${name}.didResolveOperation`));
    expect(actual).toEqual({ ...expected, calls: expected.calls.filter((call) => !skipped.has(call)) });
    for (const call of skipped) expect(expected.calls).toContain(call);
    // And the case tested what it says.
    expect(expected.calls.length).toBeGreaterThan(0);
  });

  it('adds no listener to a request in which no concern has anything to do', async () => {
    const plugin = requestHooksPlugin<Ctx>([() => undefined, () => undefined]);
    const listener = await plugin.requestDidStart?.({} as never);
    expect(listener).toBeUndefined();
  });
});

describe('the request log line', () => {
  let database: TestDatabase;
  let store: Store;
  let issued: Awaited<ReturnType<typeof issueKey>>;

  beforeAll(async () => {
    database = await createTestDatabase();
    store = database.open();
    await migrateToLatest(store.db);
    issued = await issueKey(store.db, { workspace: 'logged', name: 'logger-test' });
  });

  afterAll(async () => {
    await store.close();
    await database.drop();
  });

  async function logged(level: string, query: string): Promise<Record<string, unknown>[]> {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const apollo = createApolloServer({ logger });
    await apollo.start();
    try {
      const contextValue = createContext({ db: store.db, publicUrl: 'http://gw.test', logger }, { workspace: issued.workspace, apiKey: issued.record, requestId: 'req-log' });
      await apollo.executeOperation({ query, operationName: 'Named' }, { contextValue });
    } finally {
      await apollo.stop();
    }
    return lines.filter((line) => line.msg === 'graphql request');
  }

  it('records each request with its workspace, operation, outcome and duration', async () => {
    const [line, ...more] = await logged('info', 'query Named { workspace { name } }');
    expect(more).toHaveLength(0);
    expect(line).toMatchObject({ request_id: 'req-log', workspace: 'logged', operationName: 'Named', outcome: 'ok', level: 30 });
    expect(line.errorCodes).toBeUndefined();
    expect(typeof line.durationMs).toBe('number');
  });

  it('records the code the client saw for a limit (QUERY_TOO_COMPLEX, not GRAPHQL_VALIDATION_FAILED)', async () => {
    // customer -> (actions -> nodes -> customer) x 3 -> id: 11 levels, one over the depth limit.
    const deep = `query Named { customer(id: "x") { ${'actions { nodes { customer { '.repeat(3)} id ${'} } } '.repeat(3)} } }`;
    const [line] = await logged('info', deep);
    expect(line).toMatchObject({ outcome: 'error', errorCodes: ['QUERY_TOO_COMPLEX'] });
  });

  it("a context's logger, made on first use, carries the request id, also on Apollo's copy of the context", () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const context = createContext({ db: store.db, publicUrl: 'http://gw.test', logger }, { workspace: issued.workspace, apiKey: issued.record, requestId: 'req-ctx' });
    // Apollo runs each request on a copy made like this (ApolloServer.ts cloneObject).
    const copy: typeof context = Object.assign(Object.create(Object.getPrototypeOf(context) as object) as object, context);
    copy.logger.warn('from the copy');
    context.logger.info({ extra: 1 }, 'from the original');
    expect(lines.map(({ request_id, msg }) => ({ request_id, msg }))).toEqual([
      { request_id: 'req-ctx', msg: 'from the copy' },
      { request_id: 'req-ctx', msg: 'from the original' },
    ]);
    expect(copy.logger).toBe(copy.logger);
    expect({ ...copy, logger: undefined }).toMatchObject({ requestId: 'req-ctx', actor: 'logger-test', via: 'api', workspace: issued.workspace });
  });

  it('writes no request line when the level is above info', async () => {
    expect(await logged('warn', 'query Named { workspace { name } }')).toEqual([]);
  });
});
