package agent_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/agent"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/observability"
)

// p50 returns the median of lat in µs.
func p50(lat []time.Duration) float64 {
	slices.Sort(lat)
	return float64(lat[len(lat)/2].Nanoseconds()) / 1e3
}

// noop is a tool that does nothing and answers at once, without the typed
// tool's validation: what a turn costs around it is the loop's own.
type noop struct{}

var noopResult = []llm.Block{llm.Text{Text: "ok"}}

func (noop) Definition() llm.Tool { return llm.Tool{Name: "noop", Description: "Does nothing."} }
func (noop) Call(context.Context, json.RawMessage) ([]llm.Block, error) {
	return noopResult, nil
}

// BenchmarkLoopPerTurn measures the agent's own cost per turn: the model
// answers at once (a tool call for four turns, then the answer) and the
// tool does nothing, so what is measured is building each request,
// dispatching the call on its goroutine, recording it and appending the
// transcript. p50-µs/turn is the figure to read (target: ≤ 30 µs).
// Tracing is off except in "traced" (spans made by the SDK, no
// processor).
func BenchmarkLoopPerTurn(b *testing.B) {
	const turns = 5
	call := toolUse("", llm.ToolCall{ID: "c", Name: "noop", Arguments: json.RawMessage(`{}`)})
	final := answer("done")
	model := primitives.Func[llm.Request, llm.Response](func(_ context.Context, req llm.Request) (llm.Response, error) {
		if len(req.Messages) >= 2*turns-1 {
			return final, nil
		}
		return call, nil
	})
	for _, tc := range []struct {
		name string
		opts []agent.Option
	}{
		{"untraced", nil},
		{"traced", []agent.Option{observability.WithTracerProvider(sdktrace.NewTracerProvider())}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			a, err := agent.New(model, append(tc.opts, agent.Tools(noop{}), quiet)...)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			in := agent.Task("go")
			var lat []time.Duration
			b.ReportAllocs()
			for b.Loop() {
				start := time.Now()
				res, err := a.Execute(ctx, in)
				if err != nil || res.Turns != turns {
					b.Fatal(res.Turns, err)
				}
				lat = append(lat, time.Since(start)/turns)
			}
			b.ReportMetric(p50(lat), "p50-µs/turn")
		})
	}
}

type dispatchIn struct {
	City  string  `json:"city" jsonschema:"the city"`
	Days  int     `json:"days,omitempty" jsonschema:"days ahead"`
	Units string  `json:"units,omitempty" jsonschema:"metric or imperial"`
	Lat   float64 `json:"lat,omitempty"`
}

type dispatchOut struct {
	City  string  `json:"city"`
	TempC float64 `json:"temp_c"`
	Sky   string  `json:"sky"`
}

// BenchmarkTypedToolDispatch measures one call of a typed tool with a
// small struct: validate the arguments against the schema, decode them,
// call the function (which does nothing), encode its result as JSON.
// p50-µs is the figure to read (target: ≤ 10 µs).
func BenchmarkTypedToolDispatch(b *testing.B) {
	tool := agent.NewTool("weather", "The forecast.", func(_ context.Context, in dispatchIn) (dispatchOut, error) {
		return dispatchOut{City: in.City, TempC: 21.5, Sky: "clear"}, nil
	})
	args := json.RawMessage(`{"city":"Lisbon","days":2,"units":"metric","lat":38.72}`)
	ctx := context.Background()
	var lat []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		out, err := tool.Call(ctx, args)
		lat = append(lat, time.Since(start))
		if err != nil || len(out) != 1 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(p50(lat), "p50-µs")
}
