/** Hides secrets in anything a runner shows: command lines, output, errors, dry-run logs. */

const MASK = '***';
/** Environment variables whose values are secrets by their names. */
const SECRET_NAME = /(TOKEN|SECRET|PASSWORD|PASSPHRASE|PRIVATE_KEY|API_KEY|CREDENTIALS?)$/i;
/** GitHub token formats, so a token that reaches a command line by any route is still hidden. */
const TOKEN_PATTERNS = [
  // Any length: installation tokens in tests and on GHES are shorter than github.com's.
  /\bgh[pousr]_[A-Za-z0-9_]{8,}/g,
  /\bgithub_pat_[A-Za-z0-9_]{20,}\b/g,
  // Classic 40-hex tokens, where they are used as credentials (a bare 40-hex is a commit).
  /(?<=\b(?:token|bearer)\s+)[0-9a-f]{40}\b/gi,
  /(?<=\bAuthorization:\s*(?:token|bearer|basic)\s+)[^\s'"]+/gi,
  /(?<=:\/\/[^/\s:@]*:)[^@\s/]+(?=@)/g,
];
/** Shorter values would mask ordinary words. */
const MIN_SECRET_LENGTH = 4;

export class Redactor {
  private readonly secrets = new Set<string>();

  constructor(secrets: Iterable<string> = []) {
    for (const secret of secrets) this.add(secret);
  }

  add(secret: string | undefined): void {
    if (secret && secret.length >= MIN_SECRET_LENGTH) this.secrets.add(secret);
  }

  /** Adds the values of variables such as GITHUB_TOKEN or SSH_PASSPHRASE. */
  addFromEnvironment(env: Record<string, string | undefined>): void {
    for (const secret of secretsInEnvironment(env)) this.add(secret);
  }

  redact(text: string, extra: readonly string[] = []): string {
    // Longest first, so a secret that contains another is masked whole.
    const all = [...this.secrets, ...extra.filter((s) => s.length >= MIN_SECRET_LENGTH)].sort(
      (a, b) => b.length - a.length,
    );
    let out = text;
    for (const secret of all) out = out.split(secret).join(MASK);
    for (const pattern of TOKEN_PATTERNS) out = out.replace(pattern, MASK);
    return out;
  }
}

export function secretsInEnvironment(env: Record<string, string | undefined>): string[] {
  return Object.entries(env).flatMap(([name, value]) =>
    value && SECRET_NAME.test(name) && value.length >= MIN_SECRET_LENGTH ? [value] : [],
  );
}
