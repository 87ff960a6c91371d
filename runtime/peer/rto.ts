/**
 * Retransmission timeout from measured round-trip times, as RFC 6298 says,
 * with LAN-sized bounds:
 *
 *   first sample R:  SRTT = R, RTTVAR = R/2
 *   later samples:   RTTVAR = 3/4 RTTVAR + 1/4 |SRTT − R|,  SRTT = 7/8 SRTT + 1/8 R
 *   RTO = clamp(SRTT + max(G, 4·RTTVAR), min, max)
 *
 * A timeout doubles the RTO (up to max) and the doubled value stays until a
 * new sample arrives. Karn's rule (no sample from a retransmitted datagram)
 * is the caller's part: it only calls `sample` for datagrams sent once.
 */

export interface RtoConfig {
  /** before the first sample (RFC 6298 says 1 s; a LAN needs less) */
  initialMs: number;
  /** the floor: below it, a busy host's scheduling delays would cause spurious retransmissions */
  minMs: number;
  /** the ceiling of the backoff */
  maxMs: number;
  /** clock granularity G */
  granularityMs: number;
}

export const DEFAULT_RTO: RtoConfig = { initialMs: 250, minMs: 100, maxMs: 1000, granularityMs: 1 };

export class RtoEstimator {
  readonly config: RtoConfig;
  private srttMs: number | null = null;
  private rttvarMs = 0;
  private rtoMs: number;
  private samplesTaken = 0;
  private backoffs = 0;

  constructor(config: RtoConfig = DEFAULT_RTO) {
    this.config = config;
    this.rtoMs = config.initialMs;
  }

  /** The current retransmission timeout, ms. */
  get rto(): number {
    return this.rtoMs;
  }

  /** Smoothed RTT, or null before the first sample. */
  get srtt(): number | null {
    return this.srttMs;
  }

  get rttvar(): number {
    return this.rttvarMs;
  }

  get samples(): number {
    return this.samplesTaken;
  }

  /** Timeouts since the last sample. */
  get backoff(): number {
    return this.backoffs;
  }

  /** A round-trip time measured on a datagram sent exactly once. */
  sample(rttMs: number): void {
    if (!Number.isFinite(rttMs) || rttMs < 0) return;
    if (this.srttMs === null) {
      this.srttMs = rttMs;
      this.rttvarMs = rttMs / 2;
    } else {
      this.rttvarMs = 0.75 * this.rttvarMs + 0.25 * Math.abs(this.srttMs - rttMs);
      this.srttMs = 0.875 * this.srttMs + 0.125 * rttMs;
    }
    this.samplesTaken++;
    this.backoffs = 0;
    this.rtoMs = this.clamp(this.srttMs + Math.max(this.config.granularityMs, 4 * this.rttvarMs));
  }

  /** The retransmission timer expired: back off. */
  timedOut(): void {
    this.backoffs++;
    this.rtoMs = Math.min(this.config.maxMs, this.rtoMs * 2);
  }

  private clamp(ms: number): number {
    return Math.min(this.config.maxMs, Math.max(this.config.minMs, ms));
  }
}
