/** What best available asks of the seats already taken. A `Set<number>` is one. */
export interface TakenSeats {
  has(seat: number): boolean;
}

/**
 * Seat numbers as a bitmap. Best available asks about every seat of the rows it looks at, which
 * in a big hall is thousands per request: an array read is several times cheaper than a lookup
 * in a `Set`.
 */
export class SeatSet implements TakenSeats {
  private bits: Uint8Array;

  constructor(seats: Iterable<number> = [], capacity = 0) {
    this.bits = new Uint8Array(capacity + 1);
    for (const seat of seats) this.add(seat);
  }

  has(seat: number): boolean {
    return this.bits[seat] === 1;
  }

  add(seat: number): this {
    if (seat >= this.bits.length) {
      const grown = new Uint8Array(Math.max(seat + 1, this.bits.length * 2));
      grown.set(this.bits);
      this.bits = grown;
    }
    this.bits[seat] = 1;
    return this;
  }
}
