/**
 * Ctrl-C as the library sees it. The CLI calls interrupt() on the first SIGINT instead of
 * exiting: every SSH connection lets go (the commands under way fail, so every `finally` runs:
 * locks released, temporary files removed), no new board is started, and the run ends with exit
 * code 130. A second Ctrl-C exits at once (bin.ts).
 */
const listeners = new Set<() => void>();
let interrupted = false;

/** `listener` runs once when the run is interrupted (at once if it already was); returns its removal. */
export function onInterrupt(listener: () => void): () => void {
  if (interrupted) {
    listener();
    return () => undefined;
  }
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function interrupt(): void {
  if (interrupted) return;
  interrupted = true;
  for (const listener of [...listeners]) listener();
  listeners.clear();
}

export function wasInterrupted(): boolean {
  return interrupted;
}
