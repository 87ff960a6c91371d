/** A bounded set of the most recent ids: insertion-ordered, the oldest forgotten first. */
export class RecentIds {
  private readonly seen = new Set<string>();
  readonly capacity: number;

  constructor(capacity = 1024) {
    this.capacity = capacity;
  }

  get size(): number {
    return this.seen.size;
  }

  has(id: string): boolean {
    return this.seen.has(id);
  }

  /** Adds `id`; false if it was already there. */
  add(id: string): boolean {
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    if (this.seen.size > this.capacity) {
      for (const oldest of this.seen) {
        this.seen.delete(oldest);
        break;
      }
    }
    return true;
  }
}
