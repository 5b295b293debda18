// The repository's own static checks, run with every `npm test` so CI fails on them too:
// the whole tree type-checks (specs included, which the SWC test transform does not check),
// ESLint finds no error (module boundaries included), and the generated proto types match proto/.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const bin = (name: string) => path.join(ROOT, 'node_modules/.bin', name);

function run(command: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync(command, args, {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
}

it('type-checks the whole tree, specs included', () => {
  const result = run(bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']);
  expect(result.stdout + result.stderr).toBe('');
  expect(result.status).toBe(0);
  // The Console's browser code has its own settings (DOM, JSX, bundler resolution).
  const web = run(bin('tsc'), ['-p', 'apps/console/web/tsconfig.json']);
  expect(web.stdout + web.stderr).toBe('');
  expect(web.status).toBe(0);
}, 180_000);

it('lints without errors (module boundaries included)', () => {
  // The module-boundary rule reads Nx's project graph; a fresh clone has none cached yet.
  const graph = run(bin('nx'), ['show', 'projects'], { NX_DAEMON: 'false' });
  expect(graph.status).toBe(0);
  const result = run(bin('eslint'), ['.', '--quiet'], { NX_DAEMON: 'false' });
  expect(result.stdout.trim()).toBe('');
  expect(result.status).toBe(0);
}, 180_000);

it.each([
  ['buf.gen.yaml', 'libs/proto/src/generated'],
  ['buf.gen.es.yaml', 'libs/proto/src/es'],
  ['buf.gen.client.yaml', 'libs/client/src/gen'],
])(
  'the generated proto code of %s (%s) is up to date with proto/',
  (templateFile, committedDir) => {
    const out = mkdtempSync(path.join(tmpdir(), 'saldo-proto-'));
    try {
      const template = readFileSync(path.join(ROOT, templateFile), 'utf8').replace(
        `out: ${committedDir}`,
        `out: ${out}`,
      );
      const templatePath = path.join(out, 'buf.gen.yaml');
      writeFileSync(templatePath, template);
      execFileSync(bin('buf'), ['generate', '--template', templatePath], { cwd: ROOT, stdio: 'pipe' });
      const committed = path.join(ROOT, committedDir);
      const files = (dir: string): string[] =>
        readdirSync(dir).flatMap((name) => {
          const full = path.join(dir, name);
          return statSync(full).isDirectory()
            ? files(full).map((f) => path.join(name, f))
            : name.endsWith('.ts')
              ? [name]
              : [];
        });
      const fresh = files(out).sort();
      expect(files(committed).sort()).toEqual(fresh);
      for (const file of fresh) {
        expect({ file, text: readFileSync(path.join(committed, file), 'utf8') }).toEqual({
          file,
          text: readFileSync(path.join(out, file), 'utf8'),
        });
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
  120_000,
);
