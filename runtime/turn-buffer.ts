/**
 * Text appended during one turn of the event loop, handed to `write` in one piece at the end of
 * the turn (setImmediate), or at once when it reaches `max` characters: one write(2) for many
 * lines. Used by the log and by the server's presence journal.
 */
export interface TurnBuffer {
  add(text: string): void;
  /** writes what is pending now */
  flush(): void;
  /** takes what is pending out, unwritten (for the caller to write it with something else) */
  take(): string;
}

export function turnBuffer(write: (text: string) => void, max = Infinity): TurnBuffer {
  let pending = '';
  let queued = false;
  const take = (): string => {
    const text = pending;
    pending = '';
    return text;
  };
  const flush = (): void => {
    queued = false;
    if (pending !== '') write(take());
  };
  return {
    add(text) {
      pending += text;
      if (pending.length >= max) flush();
      else if (!queued) {
        queued = true;
        setImmediate(flush);
      }
    },
    flush,
    take,
  };
}
