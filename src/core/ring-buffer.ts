/** A bounded buffer keeping the newest `capacity` items. */
export class RingBuffer<T> {
  readonly #items: (T | undefined)[];
  #next = 0;
  #size = 0;

  constructor(capacity: number) {
    this.#items = new Array<T | undefined>(Math.max(1, capacity));
  }

  push(item: T): void {
    this.#items[this.#next] = item;
    this.#next = (this.#next + 1) % this.#items.length;
    if (this.#size < this.#items.length) this.#size += 1;
  }

  /** Oldest first. */
  toArray(): T[] {
    const out: T[] = [];
    const capacity = this.#items.length;
    const start = (this.#next - this.#size + capacity) % capacity;
    for (let i = 0; i < this.#size; i++) out.push(this.#items[(start + i) % capacity] as T);
    return out;
  }

  get size(): number {
    return this.#size;
  }

  clear(): void {
    this.#items.fill(undefined);
    this.#next = 0;
    this.#size = 0;
  }
}
