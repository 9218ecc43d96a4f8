/** Durable, monotonic consumer cursors (the handoff frontier). */
export interface CursorStore {
  /** The confirmed offset; 0 before the first confirm. */
  get(consumer: string): Promise<number>;
  /**
   * Moves the cursor to `offset` if that is ahead, atomically against
   * concurrent confirms, and returns the cursor afterwards. Never regresses.
   */
  advance(consumer: string, offset: number): Promise<number>;
}
