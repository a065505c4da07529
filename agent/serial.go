package agent

// Serial is implemented by tools whose calls share state and so must not
// overlap, nor run out of the order the model wrote them: the built-in
// sandbox tools, which share one Python session, are Serial with one key.
// Within one reply, the calls of all tools whose SerialKey is the same
// value run one at a time, in the model's order, on one goroutine; calls
// of other tools run concurrently beside them.
type Serial interface {
	Tool
	// SerialKey returns a comparable value, the same for every tool that
	// shares the state, different from any other tool's.
	SerialKey() any
}

// serialTool makes a tool Serial with a key.
type serialTool struct {
	Tool
	key any
}

func (t serialTool) SerialKey() any { return t.key }
