/**
The kernel's timer queue: events ordered by virtual time (microseconds of uptime), ties broken by
the order they were scheduled, so a run is a pure function of the seed and the calls made.
*/
type Event = {readonly at: number; readonly seq: number; readonly run: () => void};

export class EventQueue {
	private readonly heap: Event[] = [];
	private seq = 0;

	get size(): number {
		return this.heap.length;
	}

	push(at: number, run: () => void): void {
		const heap = this.heap;
		heap.push({at, seq: this.seq++, run});
		let index = heap.length - 1;
		while (index > 0) {
			const parent = (index - 1) >> 1;
			if (!before(heap[index]!, heap[parent]!)) {
				break;
			}

			[heap[index], heap[parent]] = [heap[parent]!, heap[index]!];
			index = parent;
		}
	}

	/** Time of the earliest event, or Infinity. */
	peekTime(): number {
		return this.heap[0]?.at ?? Number.POSITIVE_INFINITY;
	}

	pop(): Event | undefined {
		const heap = this.heap;
		const top = heap[0];
		const last = heap.pop();
		if (top === undefined || last === undefined || heap.length === 0) {
			return top;
		}

		heap[0] = last;
		let index = 0;
		for (;;) {
			const left = index * 2 + 1;
			const right = left + 1;
			let smallest = index;
			if (left < heap.length && before(heap[left]!, heap[smallest]!)) {
				smallest = left;
			}

			if (right < heap.length && before(heap[right]!, heap[smallest]!)) {
				smallest = right;
			}

			if (smallest === index) {
				break;
			}

			[heap[index], heap[smallest]] = [heap[smallest]!, heap[index]!];
			index = smallest;
		}

		return top;
	}
}

function before(a: Event, b: Event): boolean {
	return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
