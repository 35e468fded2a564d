/** Process entry: read config, migrate, bootstrap, listen, shut down cleanly on signals. */
import { bootstrapDefaultWorkspace, createApp } from './app';
import { loadConfig } from './config';
import { messageOf } from './shared/errors';
import { createLogger } from './shared/logger';
import { startTracing } from './shared/tracing';

function printFirstKey(key: string, url: string): void {
  const lines = [
    '',
    'First start: created workspace "default" with this API key (shown once, only its hash is stored):',
    '',
    `    ${key}`,
    '',
    `In the explorer at ${url}/ open the Headers tab and set:  {"Authorization": "Bearer ${key}"}`,
    `With curl:  curl -s ${url}/graphql -H 'Authorization: Bearer ${key}' -H 'content-type: application/json' -d '{"query":"{ workspace { name } }"}'`,
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

async function main(): Promise<void> {
  const config = loadConfig();
  const tracing = config.tracing ? startTracing(config.tracing) : undefined;
  const logger = createLogger(config.logLevel, { format: config.logFormat, fields: tracing?.logFields });
  const app = await createApp({ config, logger, tracing });
  const url = await app.listen(config.port, config.host);
  logger.info({ url: `${url}/graphql`, engine: app.store.engine, dataDir: app.store.engine === 'sqlite' ? config.dataDir : undefined }, 'customer-gateway listening');
  const firstKey = await bootstrapDefaultWorkspace(app.store);
  if (firstKey) printFirstKey(firstKey, url);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    app.stop().then(
      () => {
        logger.info('stopped');
        // Let the log line flush and the loop drain; force the exit only if something lingers.
        process.exitCode = 0;
        setTimeout(() => process.exit(0), 1000).unref();
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`customer-gateway failed to start: ${messageOf(error)}\n`);
  process.exit(1);
});
