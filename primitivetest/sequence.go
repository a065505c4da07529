package primitivetest

// Sequence returns a Mock that answers outs in order, with nil errors,
// then repeats the last one; with no outs it answers the zero output.
// Only the input type needs spelling out, the output type is inferred:
//
//	gen := primitivetest.Sequence[string]("wrong code", "right code")
//
// It is NewMock with one Reply per output, and is safe for concurrent use.
func Sequence[In, Out any](outs ...Out) *Mock[In, Out] {
	replies := make([]Reply[Out], len(outs))
	for i, o := range outs {
		replies[i] = Reply[Out]{Out: o}
	}
	return NewMock[In](replies...)
}
