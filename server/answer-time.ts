/**
 * How long clients take to answer a probe, as the server reads the answers: the smoothed mean and
 * mean deviation of RFC 6298 (α = 1/8, β = 1/4) over every SEIS that answers the latest regular
 * probe of its session. It sets how soon a presence push is repeated to the clients that have not
 * acknowledged it (host.ts, PROTOCOL.md §5): no sooner than an answer could have come back.
 *
 * A fixed 100 ms repeat was right for a client on a lossy link that answers in a few ms, and wrong
 * for a server whose clients answer slowly (a loaded machine, a slow network): the repeats went to
 * nearly everyone, up to four times per change, and the extra datagrams slowed the answers further.
 * With 10 000 clients and fresh password logins (each a JOIN and a LEAVE pushed to all), the
 * clients were sent 2.7 TRUCOs a second instead of about 2.
 */
export interface AnswerTime {
  /** one answer read `ms` after its probe went out */
  note(ms: number): void;
  /** how long to wait before repeating a push: srtt + 4 × rttvar, within [floorMs, ceilMs] */
  wait(): number;
}

export function createAnswerTime(floorMs: number, ceilMs: number): AnswerTime {
  let srtt = -1;
  let rttvar = 0;
  return {
    note(ms) {
      if (!(ms >= 0) || !Number.isFinite(ms)) return;
      if (srtt < 0) {
        srtt = ms;
        rttvar = ms / 2;
        return;
      }
      rttvar = 0.75 * rttvar + 0.25 * Math.abs(srtt - ms);
      srtt = 0.875 * srtt + 0.125 * ms;
    },
    wait() {
      const rto = srtt < 0 ? floorMs : srtt + 4 * rttvar;
      return Math.min(ceilMs, Math.max(floorMs, rto));
    },
  };
}
