/** What consumer reads report (metrics live behind this port). */
export interface ConsumerObserver {
  fetched(consumer: string, count: number): void;
  confirmed(consumer: string, cursor: number): void;
}

export const noopConsumerObserver: ConsumerObserver = { fetched() {}, confirmed() {} };
