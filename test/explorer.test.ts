import { explorerAsset, explorerHtml } from '../src/http/explorer';

const html = explorerHtml({ endpoint: '/graphql', title: 'customer-gateway explorer' });

function attributeValues(source: string, tag: string, attribute: string): string[] {
  const values: string[] = [];
  for (const element of source.matchAll(new RegExp(`<${tag}\\b[^>]*>`, 'gi'))) {
    const match = new RegExp(`\\s${attribute}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(element[0]);
    if (match) values.push(match[2] ?? match[3] ?? match[4]);
  }
  return values;
}

/** url(...) and @import targets in a stylesheet. */
function cssReferences(css: string): string[] {
  const refs: string[] = [];
  for (const m of css.matchAll(/url\(\s*(?:"([^"]*)"|'([^']*)'|([^)]*?))\s*\)/gi)) refs.push(m[1] ?? m[2] ?? m[3]);
  for (const m of css.matchAll(/@import\s+(?:url\()?\s*["']?([^"')\s;]+)/gi)) refs.push(m[1]);
  return refs;
}

function isRemote(reference: string): boolean {
  return /^(?:[a-z][a-z0-9+.-]*:)?\/\//i.test(reference.trim()) && !/^data:/i.test(reference.trim());
}

function inlineStyles(source: string): string {
  return [...source.matchAll(/<style\b[^>]*>([\s\S]*?)<\/style>/gi)].map((m) => m[1]).join('\n');
}

function pathOf(reference: string): string {
  return new URL(reference, 'http://127.0.0.1/').pathname;
}

const scripts = attributeValues(html, 'script', 'src');
const links = attributeValues(html, 'link', 'href');
const stylesheets = [...html.matchAll(/<link\b[^>]*>/gi)]
  .map((m) => m[0])
  .filter((tag) => /rel\s*=\s*["']?stylesheet/i.test(tag))
  .map((tag) => attributeValues(tag, 'link', 'href')[0]);
const localAssets = [...scripts, ...links].filter((ref) => !/^data:/i.test(ref));

describe('explorerHtml', () => {
  it('is an HTML page that targets the given endpoint', () => {
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain('"endpoint":"/graphql"');
    expect(html).toContain('<title>customer-gateway explorer</title>');
  });

  it('tells the user where the API key goes and offers a sample query', () => {
    expect(html).toContain('Headers');
    expect(html).toContain('{\\"Authorization\\": \\"Bearer cgk_...\\"}');
    expect(html).toMatch(/customers\(first: 5\) \{\\n\s*nodes \{\\n\s*id\\n\s*email\\n\s*name/);
    expect(html).toContain('"shouldPersistHeaders":true');
  });

  it('starts the Headers editor with the Authorization header to fill in', () => {
    expect(html).toContain('"headers":"{\\n  \\"Authorization\\": \\"Bearer \\"\\n}"');
  });

  it('has a hidden key hint that says where the key goes, shown by the page script on a 401', () => {
    expect(html).toMatch(/<div id="explorer-key-hint" role="alert" hidden>[\s\S]*Headers[\s\S]*\{"Authorization": "Bearer cgk_\.\.\."\}[\s\S]*Re-fetch GraphQL schema[\s\S]*<\/div>/);
    const boot = explorerAsset('/explorer/boot.js')!.body.toString();
    expect(boot).toContain('response.status === 401');
  });

  it('turns off DNS prefetching, so the Sandbox link resolves nothing until clicked', () => {
    expect(html).toContain('<meta http-equiv="x-dns-prefetch-control" content="off" />');
  });

  it('links to Apollo Sandbox only as a plain link', () => {
    expect(html).toMatch(/<a [^>]*href="https:\/\/studio\.apollographql\.com\/sandbox\/explorer"[^>]*>Open in Apollo Sandbox \(needs internet\)<\/a>/);
  });

  it('loads scripts, stylesheets, icons and fonts only from our own server or inline', () => {
    expect(scripts.length).toBeGreaterThan(0);
    expect(stylesheets.length).toBeGreaterThan(0);
    for (const ref of [...scripts, ...links, ...cssReferences(inlineStyles(html))]) {
      expect({ ref, remote: isRemote(ref) }).toEqual({ ref, remote: false });
    }
    // Nothing in the page names a font or script host.
    expect(html).not.toMatch(/fonts\.(googleapis|gstatic)|unpkg\.com|jsdelivr|cdnjs|embeddable-sandbox|apollo-server-landing-page/i);
  });

  it('serves every referenced asset with the right content type', () => {
    for (const ref of localAssets) {
      const asset = explorerAsset(pathOf(ref));
      expect({ ref, served: asset !== null }).toEqual({ ref, served: true });
      const expected = scripts.includes(ref) ? /^text\/javascript\b/ : /^text\/css\b/;
      expect(asset!.contentType).toMatch(expected);
      expect(Buffer.byteLength(asset!.body)).toBeGreaterThan(0);
    }
  });

  it('serves the Monaco web workers the page configures', () => {
    const config = JSON.parse(/<script id="explorer-config" type="application\/json">([\s\S]*?)<\/script>/.exec(html)![1]) as {
      workers: Record<string, string>;
    };
    expect(Object.keys(config.workers).sort()).toEqual(['editorWorkerService', 'graphql', 'json']);
    for (const url of Object.values(config.workers)) {
      expect(isRemote(url)).toBe(false);
      expect(explorerAsset(pathOf(url))?.contentType).toMatch(/^text\/javascript\b/);
    }
  });

  it('served stylesheets reference no remote fonts, images or imports', () => {
    for (const ref of stylesheets) {
      const css = explorerAsset(pathOf(ref))!.body.toString();
      for (const target of cssReferences(css)) {
        expect({ ref, target: target.slice(0, 60), remote: isRemote(target) }).toEqual({ ref, target: target.slice(0, 60), remote: false });
      }
    }
  });

  it('escapes the title and endpoint', () => {
    const page = explorerHtml({ endpoint: '/graphql?x=</script><script>alert(1)</script>', title: '<b>"x"</b>' });
    expect(page).toContain('<title>&#60;b&#62;&#34;x&#34;&#60;/b&#62;</title>');
    expect(page).not.toContain('<script>alert(1)');
    expect(page).not.toContain('<b>');
  });

  it('caches the page per options', () => {
    expect(explorerHtml({ endpoint: '/graphql', title: 'customer-gateway explorer' })).toBe(html);
    expect(explorerHtml({ endpoint: '/other' })).toContain('"endpoint":"/other"');
  });
});

describe('explorerAsset', () => {
  it('returns null for paths that are not explorer assets', () => {
    expect(explorerAsset('/')).toBeNull();
    expect(explorerAsset('/graphql')).toBeNull();
    expect(explorerAsset('/explorer/')).toBeNull();
    expect(explorerAsset('/explorer/../package.json')).toBeNull();
    expect(explorerAsset('/explorer/nope.js')).toBeNull();
  });

  it('returns the same cached body on every call', () => {
    const a = explorerAsset('/explorer/graphiql.js');
    const b = explorerAsset('/explorer/graphiql.js');
    expect(a).not.toBeNull();
    expect(a!.body).toBe(b!.body);
    expect(a!.body.toString().slice(0, 4000)).toContain('YogaGraphiQL');
  });
});
