/**
 * A build of an earlier commit beside the current one, so a benchmark can state a ratio
 * "after / before" measured on the same machine in the same run (machines here differ up to
 * 3.5× in speed; numbers from different runs do not compare). The checkout is a detached git
 * worktree under var/, sharing this checkout's node_modules.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './stack';

export function buildBaseline(commit: string): string {
  const sha = execFileSync('git', ['rev-parse', '--verify', `${commit}^{commit}`], { cwd: ROOT })
    .toString()
    .trim();
  const dir = join(ROOT, 'var', `baseline-${sha.slice(0, 12)}`);
  if (!existsSync(join(dir, 'dist'))) {
    if (existsSync(dir)) {
      execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: ROOT, stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    }
    execFileSync('git', ['worktree', 'add', '--detach', dir, sha], { cwd: ROOT, stdio: 'inherit' });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    execFileSync('bash', [join(dir, 'scripts/build.sh')], { cwd: dir, stdio: 'inherit' });
  }
  return dir;
}
