/** The one error every wire codec returns (decoders never throw). */

export type WireErrorReason = 'version' | 'type' | 'truncated' | 'trailing' | 'oversize' | 'field';

export interface WireError {
  type: 'WireError';
  reason: WireErrorReason;
  detail?: string;
}

export function wireError(reason: WireErrorReason, detail?: string): WireError {
  return detail === undefined ? { type: 'WireError', reason } : { type: 'WireError', reason, detail };
}

export function isWireError(value: unknown): value is WireError {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'WireError';
}
