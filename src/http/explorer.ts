/**
 * The API explorer served at `GET /`: GraphiQL that works fully offline.
 *
 * Choice: `@graphql-yoga/render-graphiql` (pinned), used only for its prebuilt browser bundle
 * (`@graphql-yoga/render-graphiql/graphiql`: GraphiQL 5 + React + Monaco + the explorer plugin as one
 * UMD script, its CSS with fonts/icons inlined as data: URLs, and the three Monaco web workers).
 * - It is current GraphiQL (maintained with graphql-yoga), has the Headers editor with
 *   `shouldPersistHeaders` on (headers kept in localStorage), the docs explorer and the query builder.
 * - One declared dependency, nothing to bundle. npm also installs its peer `graphql-yoga` (10 small
 *   packages, graphql deduped to our single 16.15.0), but nothing here ever loads it: we never import
 *   the package's `renderGraphiQL` (whose typings name graphql-yoga), only the asset module, which
 *   requires nothing.
 * - Rejected: `graphiql@3.9` UMD + React 18 UMD (about 1.5 MB instead of about 8.8 MB, but an end-of-line
 *   major, 100 extra packages, and React as an undeclared peer); `graphiql` 4/5 (ESM only, needs a
 *   bundler); Apollo Sandbox / landing pages and GraphQL Playground (load from a CDN).
 *
 * Rather than inlining the 8.8 MB into the HTML (as renderGraphiQL does, with workers as blob: URLs),
 * the page is a small HTML document referencing versioned static assets under /explorer/, so the
 * browser can cache them; explorerAsset serves those. The page loads nothing from another origin:
 * the only external address is a plain "Open in Apollo Sandbox" link, followed only if clicked.
 */
import fs from 'node:fs';
import type * as GraphiqlAssets from '@graphql-yoga/render-graphiql/graphiql';

export interface ExplorerOptions {
  /** The GraphQL endpoint, e.g. '/graphql' (relative to the page's origin) or an absolute URL. */
  endpoint: string;
  title?: string;
}

export interface ExplorerAsset {
  contentType: string;
  body: Buffer | string;
}

const ASSET_PACKAGE = '@graphql-yoga/render-graphiql';
const ASSET_PREFIX = '/explorer/';
const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

const DEFAULT_TITLE = 'customer-gateway explorer';

const DEFAULT_QUERY = `# customer-gateway API explorer
#
# Every request needs an API key or a token:
# in the "Headers" tab below, enter
#
#   {"Authorization": "Bearer cgk_..."}
#
# (or {"X-Api-Key": "cgk_..."}, or a JWT from
# your identity provider in place of the key).
# Headers are kept
# in this browser. Then re-fetch the schema (the
# circular arrows in the left sidebar, or
# Shift-Ctrl-R) for docs and autocompletion.
#
# Run: Ctrl-Enter or the play button.
# Docs: the first icon in the left sidebar.

{
  customers(first: 5) {
    nodes {
      id
      email
      name
    }
  }
}
`;

const DEFAULT_HEADERS = `{
  "Authorization": "Bearer "
}`;

/** A small inline favicon, so the browser does not ask for /favicon.ico. */
const FAVICON =
  'data:image/svg+xml,' +
  encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#e10098"/>' +
      '<path d="M16 5l9.5 5.5v11L16 27l-9.5-5.5v-11z" fill="none" stroke="#fff" stroke-width="2"/></svg>',
  );

/**
 * Runs before the GraphiQL bundle: points Monaco at the worker scripts we serve, and renders
 * GraphiQL (with the options from the page's JSON config) once the bundle has run.
 */
const BOOT_JS = `(function () {
  'use strict';
  var configElement = document.getElementById('explorer-config');
  var config = JSON.parse(configElement.textContent);
  var workers = config.workers;
  // GraphiQL reopens the stored tab whose (query, variables, headers) equal the stored
  // "graphiql:query/variables/headers"; those keys are written only on edit, so after
  // "set headers, reload" without editing the query it would add an empty tab each time.
  try {
    var tabState = JSON.parse(localStorage.getItem('graphiql:tabState') || 'null');
    var tab = tabState && tabState.tabs && tabState.tabs[tabState.activeTabIndex];
    if (tab && typeof tab.query === 'string' && localStorage.getItem('graphiql:query') === null) {
      localStorage.setItem('graphiql:query', tab.query);
    }
    if (tab && typeof tab.variables === 'string' && localStorage.getItem('graphiql:variables') === null) {
      localStorage.setItem('graphiql:variables', tab.variables);
    }
  } catch (error) {
    // storage unavailable or not GraphiQL's: nothing to repair
  }
  self.MonacoEnvironment = {
    globalAPI: false,
    getWorkerUrl: function (moduleId, label) {
      return workers[label] || workers.editorWorkerService;
    },
  };
  // A 401 from the endpoint (first load without a key: introspection is refused, so there are no
  // docs) shows the key hint with the server's message; any successful answer hides it. GraphiQL
  // calls globalThis.fetch at request time, so wrapping it here sees every request it makes.
  var endpointUrl = new URL(config.endpoint, location.href).href.split(/[?#]/)[0];
  var nativeFetch = window.fetch;
  function showKeyHint(visible, message) {
    var hint = document.getElementById('explorer-key-hint');
    if (!hint) return;
    hint.hidden = !visible;
    var detail = document.getElementById('explorer-key-hint-detail');
    if (detail && message) detail.textContent = 'The server answered: ' + message;
  }
  window.fetch = function (input, init) {
    var target = typeof input === 'string' || input instanceof URL ? String(input) : input.url;
    var toEndpoint = new URL(target, location.href).href.split(/[?#]/)[0] === endpointUrl;
    return nativeFetch.apply(this, arguments).then(function (response) {
      if (!toEndpoint) return response;
      if (response.status === 401) {
        response.clone().json().then(
          function (body) { showKeyHint(true, body && body.errors && body.errors[0] && body.errors[0].message); },
          function () { showKeyHint(true); }
        );
      } else if (response.ok) {
        showKeyHint(false);
      }
      return response;
    });
  };
  function start() {
    var endpoint = new URL(config.endpoint, location.href).href;
    var close = document.getElementById('explorer-key-hint-close');
    if (close) close.addEventListener('click', function () { showKeyHint(false); });
    var link = document.getElementById('explorer-sandbox-link');
    if (link) {
      link.href = 'https://studio.apollographql.com/sandbox/explorer?endpoint=' + encodeURIComponent(endpoint);
    }
    var root = document.getElementById('root');
    if (!window.YogaGraphiQL || typeof window.YogaGraphiQL.renderYogaGraphiQL !== 'function') {
      root.textContent = 'The explorer failed to load (GraphiQL script missing).';
      return;
    }
    window.YogaGraphiQL.renderYogaGraphiQL(root, config.graphiql);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
`;

/** Sandbox calls the gateway from its own origin, so the gateway has to grant that origin CORS. */
export const SANDBOX_NEEDS = 'Needs internet access and CORS_ORIGINS=https://studio.apollographql.com on this gateway; send the API key as a header in the Sandbox connection settings.';

const PAGE_CSS = `html, body { height: 100%; margin: 0; overflow: hidden; }
#root { height: 100vh; }
#explorer-sandbox-link {
  position: fixed; right: 12px; bottom: 8px; z-index: 10;
  font: 12px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: inherit; opacity: 0.55; text-decoration: underline;
}
#explorer-sandbox-link:hover, #explorer-sandbox-link:focus { opacity: 1; }
#explorer-key-hint {
  position: fixed; top: 64px; right: 24px; z-index: 20;
  max-width: min(560px, calc(100vw - 48px)); box-sizing: border-box; padding: 10px 36px 10px 14px;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  background: #fff8e1; color: #3e2c00; border: 1px solid #f0c36d; border-radius: 6px;
  box-shadow: 0 2px 8px rgba(0, 0, 0, 0.15);
}
#explorer-key-hint[hidden] { display: none; }
#explorer-key-hint code { font: 13px ui-monospace, SFMono-Regular, Menlo, monospace; background: rgba(0, 0, 0, 0.06); padding: 0 3px; border-radius: 3px; }
#explorer-key-hint-detail { display: block; margin-top: 4px; font-size: 12px; opacity: 0.8; }
#explorer-key-hint-close {
  position: absolute; top: 6px; right: 8px; border: 0; background: none; font-size: 18px; line-height: 1;
  color: inherit; cursor: pointer;
}
`;

let assetModule: typeof GraphiqlAssets | undefined;
let assetVersion: string | undefined;
let assets: Map<string, ExplorerAsset> | undefined;
const pages = new Map<string, string>();

function loadAssetModule(): typeof GraphiqlAssets {
  if (!assetModule) {
    // Resolved from this file, so it works from src/ (ts-jest) and from dist/src/ alike.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use: 8.8 MB a gateway without explorer traffic never parses
    assetModule = require(require.resolve(`${ASSET_PACKAGE}/graphiql`)) as typeof GraphiqlAssets;
  }
  return assetModule;
}

function version(): string {
  if (!assetVersion) {
    const manifest = JSON.parse(fs.readFileSync(require.resolve(`${ASSET_PACKAGE}/package.json`), 'utf8')) as { version: string };
    assetVersion = manifest.version;
  }
  return assetVersion;
}

/** Asset path -> content; built on first use, each body encoded once. */
function assetTable(): Map<string, ExplorerAsset> {
  if (!assets) {
    const m = loadAssetModule();
    const entries: Array<[string, string, string]> = [
      ['boot.js', JS, BOOT_JS],
      ['page.css', CSS, PAGE_CSS],
      ['graphiql.js', JS, m.js],
      ['graphiql.css', CSS, m.css],
      ['editor.worker.js', JS, m.editorWorkerService],
      ['json.worker.js', JS, m.jsonWorker],
      ['graphql.worker.js', JS, m.graphqlWorker],
    ];
    assets = new Map(entries.map(([name, contentType, text]) => [ASSET_PREFIX + name, { contentType, body: Buffer.from(text, 'utf8') }]));
  }
  return assets;
}

/** A root-relative URL of an asset, with the package version as a cache buster. */
function assetUrl(name: string): string {
  return `${ASSET_PREFIX}${name}?v=${encodeURIComponent(version())}`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON safe to embed in a <script> element (no `</script>`, no `<!--`, no line separators). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** The explorer page (HTML). References only assets served by explorerAsset (and inline data). */
export function explorerHtml(options: ExplorerOptions): string {
  const title = options.title ?? DEFAULT_TITLE;
  const key = JSON.stringify([options.endpoint, title]);
  const cached = pages.get(key);
  if (cached) return cached;

  const config = {
    endpoint: options.endpoint,
    workers: {
      editorWorkerService: assetUrl('editor.worker.js'),
      json: assetUrl('json.worker.js'),
      graphql: assetUrl('graphql.worker.js'),
    },
    // Options of YogaGraphiQL (GraphiQL 5 props plus endpoint/title/logo); headers persist by default.
    graphiql: {
      endpoint: options.endpoint,
      // Yoga renders title and a string logo as HTML.
      title: escapeHtml(title),
      logo: '',
      defaultQuery: DEFAULT_QUERY,
      // The Headers editor starts with the header the key goes in (Yoga passes this on as GraphiQL's
      // defaultHeaders; headers the user saved in this browser win).
      headers: DEFAULT_HEADERS,
      shouldPersistHeaders: true,
      isHeadersEditorEnabled: true,
      // Open the tools pane on the Headers tab, where the API key goes.
      defaultEditorToolsVisibility: 'headers',
    },
  };

  const html = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="referrer" content="no-referrer" />
    <meta http-equiv="x-dns-prefetch-control" content="off" />
    <title>${escapeHtml(title)}</title>
    <link rel="icon" href="${FAVICON}" />
    <link rel="stylesheet" href="${assetUrl('graphiql.css')}" />
    <link rel="stylesheet" href="${assetUrl('page.css')}" />
    <script id="explorer-config" type="application/json">${scriptJson(config)}</script>
  </head>
  <body class="no-focus-outline">
    <noscript>The API explorer needs JavaScript. The GraphQL endpoint is ${escapeHtml(options.endpoint)}.</noscript>
    <div id="explorer-key-hint" role="alert" hidden>
      <strong>This API needs an API key or a token.</strong> Open the <strong>Headers</strong> tab below the query and
      enter <code>{"Authorization": "Bearer cgk_..."}</code> (or <code>{"X-Api-Key": "cgk_..."}</code>, or a JWT
      from your identity provider in place of the key), then click
      <strong>Re-fetch GraphQL schema</strong> (the circular arrows in the left sidebar) to load the docs.
      No key yet? <code>npx customer-gateway key create --workspace default</code>
      <span id="explorer-key-hint-detail"></span>
      <button id="explorer-key-hint-close" type="button" aria-label="Dismiss">&times;</button>
    </div>
    <div id="root"></div>
    <a id="explorer-sandbox-link" href="https://studio.apollographql.com/sandbox/explorer" target="_blank" rel="noopener noreferrer" title="${SANDBOX_NEEDS}">Open in Apollo Sandbox (needs internet)</a>
    <script src="${assetUrl('boot.js')}"></script>
    <script src="${assetUrl('graphiql.js')}"></script>
  </body>
</html>
`;
  pages.set(key, html);
  return html;
}

/** Static assets the page references (path -> content); null when the path is not an explorer asset. */
export function explorerAsset(pathname: string): ExplorerAsset | null {
  if (!pathname.startsWith(ASSET_PREFIX)) return null;
  const path = pathname.split(/[?#]/, 1)[0];
  return assetTable().get(path) ?? null;
}
