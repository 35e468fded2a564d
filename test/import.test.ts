import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../src/cli';
import { createTestDatabase } from './databases';

const FIX = path.join(__dirname, 'fixtures', 'import');
test('explore', async () => {
  const db = await createTestDatabase();
  try {
    const env = db.env;
    const run = async (...argv: string[]) => { const out: string[] = []; const err: string[] = []; const code = await runCli(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env, progressStream: new (require('stream').PassThrough)() }); return { code, out, err }; };
    console.log(JSON.stringify(await run('key', 'create', '--workspace', 'w')));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'x-'));
    const fmts: [string, string][] = [['kajabi.json','kajabi'],['crm.json','crm'],['khoros.ndjson','khoros'],['rapidly.json','rapidly'],['group-members.json','group-members'],['customers.csv','csv'],['customers.ndjson','ndjson']];
    for (const [f, fmt] of fmts) {
      fs.copyFileSync(path.join(FIX, f), path.join(dir, f));
      const r = await run('import', '--workspace', 'w', '--format', fmt, path.join(dir, f));
      const rej = fs.existsSync(path.join(dir, f + '.rejects.ndjson')) ? fs.readFileSync(path.join(dir, f + '.rejects.ndjson'), 'utf8') : '';
      console.log(f, JSON.stringify(r), '\n', rej);
    }
    const e = await run('export', '--workspace', 'w', '--out', path.join(dir, 'out.ndjson'));
    console.log(JSON.stringify(e), fs.readFileSync(path.join(dir, 'out.ndjson'), 'utf8'));
  } finally { await db.drop(); }
});
