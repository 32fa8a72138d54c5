import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const FIXTURES = fileURLToPath(new URL('../fixtures/recipes/', import.meta.url));

/** A real git repository holding a fixture, committed at a fixed time (the SOURCE_DATE_EPOCH). */
export async function fixtureRepository(
  directory: string,
  fixture: string,
  date = '2026-01-01T00:00:00Z',
): Promise<string> {
  const repository = join(directory, fixture);
  await cp(join(FIXTURES, fixture), repository, { recursive: true });
  await execa('git', ['init', '-q', '-b', 'main'], { cwd: repository });
  await commitAll(repository, 'import fixture', date);
  return repository;
}

export async function commitAll(repository: string, message: string, date: string): Promise<string> {
  const env = {
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_DATE: date,
    GIT_AUTHOR_NAME: 'crossdock test',
    GIT_AUTHOR_EMAIL: 'test@crossdock.invalid',
    GIT_COMMITTER_NAME: 'crossdock test',
    GIT_COMMITTER_EMAIL: 'test@crossdock.invalid',
  };
  await execa('git', ['add', '-A'], { cwd: repository });
  await execa('git', ['commit', '-q', '-m', message], { cwd: repository, env });
  return (await execa('git', ['rev-parse', 'HEAD'], { cwd: repository })).stdout.trim();
}
