package performance

import "fmt"

// KeyError reports that the cache could not compute the key of an input:
// the key function panicked, or the default key could not encode the input
// (a NaN, a cycle). The inner primitive was not run. Retrying is pointless,
// so recovery.IsRetryable reports false.
type KeyError struct {
	// Value is what the key function panicked with.
	Value any
	// Stack is the stack of the panicking goroutine.
	Stack []byte
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("performance: cache key function panicked: %v", e.Value)
}

// Unwrap returns the panic value when it is an error.
func (e *KeyError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// Retryable reports false: the same input would fail the same way.
func (e *KeyError) Retryable() bool { return false }
