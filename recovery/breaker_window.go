package recovery

import (
	"sync"
	"time"
)

const windowBuckets = 10

// slidingWindow counts calls and failures over the last window of time, in
// windowBuckets buckets, for the FailureRatio rule.
type slidingWindow struct {
	mu      sync.Mutex
	width   int64 // ns per bucket
	buckets [windowBuckets]windowBucket
}

type windowBucket struct {
	idx             int64 // which bucket-width slice of time it counts
	calls, failures int64
}

func newSlidingWindow(window time.Duration) *slidingWindow {
	w := &slidingWindow{width: max(int64(window)/windowBuckets, 1)}
	w.reset()
	return w
}

func (w *slidingWindow) reset() {
	w.mu.Lock()
	for i := range w.buckets {
		w.buckets[i] = windowBucket{idx: -1}
	}
	w.mu.Unlock()
}

// add records one call at time now (ns) and reports whether the window now
// holds at least minCalls calls with a failure share of at least ratio.
func (w *slidingWindow) add(now int64, failure bool, minCalls int, ratio float64) bool {
	idx := max(now, 0) / w.width
	w.mu.Lock()
	defer w.mu.Unlock()
	b := &w.buckets[idx%windowBuckets]
	if b.idx != idx {
		*b = windowBucket{idx: idx}
	}
	b.calls++
	if failure {
		b.failures++
	}
	var calls, failures int64
	for i := range w.buckets {
		if bk := &w.buckets[i]; bk.idx > idx-windowBuckets && bk.idx <= idx {
			calls += bk.calls
			failures += bk.failures
		}
	}
	return calls >= int64(minCalls) && float64(failures) >= ratio*float64(calls)
}
