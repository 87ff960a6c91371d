/**
 * Whether the server can judge its clients' silence (PROTOCOL.md §5): a probe is missed when no
 * answer was *read* within the interval, and a server too busy to read its socket in time (a
 * burst of logins on a loaded machine, a long GC) would otherwise count its own deafness as
 * everyone's silence. Thousands of users then go suspect together, their re-probes load the
 * server further, and the whole online list is dropped: what collapsed the 20 000-client bench.
 *
 * The host reports each SEIS it reads, and whether it was late: read more than half an interval
 * after the probe it answers went out, or answering an older probe than the last one. When most
 * answers of the current and the previous round were late the server is deaf, and a round's
 * missing answers are not counted (the probes still go out). A client that is really silent is
 * still caught: its peers' answers are on time, or, if no one answers at all, nothing is late.
 */

export interface Hearing {
  /** a SEIS was read; `late` as above */
  answer(late: boolean): void;
  /** a probe round (one interval) ended */
  round(): void;
  /** most recent answers were read late: do not count misses now */
  readonly deaf: boolean;
}

/** `minAnswers`: below this many answers in two rounds, never deaf (too few to tell) */
export function createHearing(minAnswers = 8): Hearing {
  let answered = 0;
  let late = 0;
  let prevAnswered = 0;
  let prevLate = 0;
  return {
    answer(isLate) {
      answered++;
      if (isLate) late++;
    },
    round() {
      prevAnswered = answered;
      prevLate = late;
      answered = 0;
      late = 0;
    },
    get deaf() {
      const n = answered + prevAnswered;
      return n >= minAnswers && 2 * (late + prevLate) > n;
    },
  };
}
