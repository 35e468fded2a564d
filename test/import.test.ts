import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { runCli } from '../src/cli';
import { createTestDatabase } from './databases';

const FIX = path.join(__dirname, 'fixtures', 'import');
test('explore', async () => {
  const db = await createTestDatabase();
  try {
    const env = db.env;
    const run = async (...argv: string[]) => { const out: string[] = []; const err: string[] = []; const ps = new PassThrough(); let prog = ''; ps.on('data', (d) => prog += d); const code = await runCli(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env, progressStream: ps }); return { code, out, err, prog }; };
    await run('key', 'create', '--workspace', 'w');
    await run('key', 'create', '--workspace', 'v');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'x-'));
    const fmts: [string, string][] = [['kajabi.json','kajabi'],['crm.json','crm'],['khoros.ndjson','khoros'],['rapidly.json','rapidly'],['group-members.json','group-members'],['customers.csv','csv'],['customers.ndjson','ndjson']];
    for (const [f, fmt] of fmts) {
      fs.copyFileSync(path.join(FIX, f), path.join(dir, f));
      const r = await run('import', '--workspace', 'w', '--format', fmt, path.join(dir, f));
      const r2 = await run('import', '--workspace', 'w', '--format', fmt, path.join(dir, f));
      console.log(f, JSON.stringify(r), JSON.stringify(r2));
    }
    const r = await run('import', '--workspace', 'v', '--format', 'csv', path.join(dir, 'customers.csv'));
    console.log('fresh csv', JSON.stringify(r), fs.readFileSync(path.join(dir, 'customers.csv.rejects.ndjson'), 'utf8'));
    const e = await run('export', '--workspace', 'v');
    console.log(JSON.stringify(e));
    const b = await run('export', '--workspace', 'v', '--after', 'garbage');
    console.log(JSON.stringify(b));
    const c = await run('import', '--workspace', 'v', '--format', 'nope', 'x');
    console.log(JSON.stringify(c));
    const d = await run('import', '--workspace', 'v', '--format', 'csv', '/nonexist.csv');
    console.log(JSON.stringify(d));
    const g = await run('import', '--workspace', 'ghost', '--format', 'csv', path.join(dir, 'customers.csv'));
    console.log(JSON.stringify(g));
  } finally { await db.drop(); }
});
