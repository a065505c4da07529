package codemode_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ttadev/primitives/agent"
	"github.com/ttadev/primitives/agent/codemode"
	"github.com/ttadev/primitives/integrations/e2b"
	"github.com/ttadev/primitives/integrations/e2b/e2btest"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/sandbox"
	"github.com/ttadev/primitives/sandbox/local"
)

// fnTool is a tool made of a schema and a function, counting its calls.
type fnTool struct {
	name, desc string
	schema     string
	fn         func(ctx context.Context, args json.RawMessage) ([]llm.Block, error)
	calls      atomic.Int64
}

func (t *fnTool) Definition() llm.Tool {
	return llm.Tool{Name: t.name, Description: t.desc, InputSchema: json.RawMessage(t.schema)}
}

func (t *fnTool) Call(ctx context.Context, args json.RawMessage) ([]llm.Block, error) {
	t.calls.Add(1)
	return t.fn(ctx, args)
}

var (
	providerOnce sync.Once
	provider     *local.Provider
	providerErr  error
)

func localProvider(t testing.TB) sandbox.Provider {
	t.Helper()
	providerOnce.Do(func() {
		provider, providerErr = local.New(observability.WithLogger(slog.New(slog.DiscardHandler)))
	})
	if providerErr != nil {
		t.Fatalf("local.New: %v", providerErr)
	}
	return provider
}

// weather answers the temperature of a few cities; convert turns Celsius
// into Fahrenheit.
func weatherTools() (*fnTool, *fnTool) {
	weather := &fnTool{
		name: "get-weather", desc: "Current weather of a city.",
		schema: `{"type":"object","properties":{"city":{"type":"string","description":"The city's name."}},"required":["city"],"additionalProperties":false}`,
		fn: func(ctx context.Context, args json.RawMessage) ([]llm.Block, error) {
			var in struct{ City string }
			json.Unmarshal(args, &in)
			temps := map[string]int{"Paris": 18, "Oslo": 4, "Cairo": 31}
			c, ok := temps[in.City]
			if !ok {
				return nil, &agent.ToolError{Message: "no weather for " + in.City}
			}
			return []llm.Block{llm.Text{Text: fmt.Sprintf(`{"city":%q,"celsius":%d}`, in.City, c)}}, nil
		},
	}
	convert := &fnTool{
		name: "to_fahrenheit", desc: "Converts Celsius to Fahrenheit.",
		schema: `{"type":"object","properties":{"celsius":{"type":"number"}},"required":["celsius"]}`,
		fn: func(ctx context.Context, args json.RawMessage) ([]llm.Block, error) {
			var in struct{ Celsius float64 }
			json.Unmarshal(args, &in)
			return []llm.Block{llm.Text{Text: fmt.Sprint(in.Celsius*9/5 + 32)}}, nil
		},
	}
	return weather, convert
}

func newProgram(t *testing.T, tools []agent.Tool, opts ...codemode.Option) *codemode.Program {
	t.Helper()
	p, err := codemode.New(localProvider(t), tools, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

func text(blocks []llm.Block) string {
	var b strings.Builder
	for _, bl := range blocks {
		if t, ok := bl.(llm.Text); ok {
			b.WriteString(t.Text)
		}
	}
	return b.String()
}

func TestProgramChainsToolCalls(t *testing.T) {
	weather, convert := weatherTools()
	p := newProgram(t, []agent.Tool{weather, convert})
	def := p.Definition()
	if def.Name != "run_program" || !strings.Contains(def.Description, "tools.get_weather(city: string)") ||
		!strings.Contains(def.Description, "city: The city's name.") || !strings.Contains(def.Description, "tools.to_fahrenheit(celsius: number)") {
		t.Fatalf("definition does not describe the tools as functions:\n%s", def.Description)
	}
	code := `
warmest = max(("Paris", "Oslo", "Cairo"), key=lambda c: tools.get_weather(city=c)["celsius"])
f = tools.to_fahrenheit(celsius=tools.get_weather(city=warmest)["celsius"])
try:
    tools.get_weather(city="Atlantis")
except tools.ToolError as e:
    print("refused:", e)
print("warmest", warmest)
f`
	args, _ := json.Marshal(map[string]string{"code": code})
	blocks, err := p.Call(context.Background(), args)
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	out := text(blocks)
	for _, want := range []string{"tool calls made: 6", "warmest Cairo", "result: 87.8", "refused: get-weather: no weather for Atlantis"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if weather.calls.Load() != 5 || convert.calls.Load() != 1 {
		t.Fatalf("tools called %d and %d times, want 5 and 1", weather.calls.Load(), convert.calls.Load())
	}
}

// Hostile programs: unknown tools, arguments against the schema, a flood
// of 10,000 calls, huge arguments and results. Each raises inside the
// program, which goes on; the host's tools are never called with what
// the schema refuses.
func TestHostilePrograms(t *testing.T) {
	weather, convert := weatherTools()
	big := &fnTool{name: "big", schema: `{"type":"object"}`,
		fn: func(ctx context.Context, args json.RawMessage) ([]llm.Block, error) {
			return []llm.Block{llm.Text{Text: strings.Repeat("x", 3<<20)}}, nil
		}}
	p := newProgram(t, []agent.Tool{weather, convert, big}, codemode.WithMaxCalls(100))
	cases := []struct{ name, code, want string }{
		{"unknown attribute", "tools.rm_rf()", "AttributeError"},
		{"unknown tool through the channel", "import sandbox_host\nsandbox_host.call('rm_rf', {})", `unknown tool "rm_rf"`},
		{"missing argument", "tools.get_weather()", "do not follow the tool's schema"},
		{"wrong type", "tools.get_weather(city=42)", "do not follow the tool's schema"},
		{"extra argument", "tools.get_weather(city='Paris', admin=True)", "do not follow the tool's schema"},
		{"huge arguments", "tools.to_fahrenheit(celsius=1, pad='x' * (1 << 20))", "over the limit"},
		{"huge result", "tools.big()", "over the limit"},
		{"flood", `
n = 0
for i in range(10000):
    try:
        tools.to_fahrenheit(celsius=i)
        n += 1
    except tools.ToolError as e:
        last = str(e)
print(n, last)
raise tools.ToolError(last)`, "call limit reached"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := weather.calls.Load()
			rep, err := p.Run(context.Background(), c.code)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			e := rep.Execution.Error
			if e == nil || !strings.Contains(e.Name+": "+e.Value, c.want) {
				t.Fatalf("error %+v, want one containing %q", e, c.want)
			}
			if weather.calls.Load() != before {
				t.Fatal("a call the schema refuses reached the tool")
			}
		})
	}
	if n := convert.calls.Load(); n != 100 {
		t.Fatalf("the flood reached the tool %d times, want the limit, 100", n)
	}
}

func TestInfrastructureFailureStopsTheProgram(t *testing.T) {
	down := errors.New("database unreachable")
	db := &fnTool{name: "query", schema: `{"type":"object"}`,
		fn: func(ctx context.Context, args json.RawMessage) ([]llm.Block, error) { return nil, down }}
	p := newProgram(t, []agent.Tool{db})
	start := time.Now()
	rep, err := p.Run(context.Background(), "try:\n    tools.query()\nexcept Exception:\n    pass\nimport time\ntime.sleep(30)")
	if !errors.Is(err, down) {
		t.Fatalf("err = %v, want the tool's infrastructure failure", err)
	}
	if time.Since(start) > 20*time.Second {
		t.Fatal("the program ran on after the tool's infrastructure failed")
	}
	if rep == nil || rep.Calls != 1 {
		t.Fatalf("report %+v", rep)
	}
}

func TestSlowToolRaisesInTheProgram(t *testing.T) {
	slow := &fnTool{name: "slow", schema: `{"type":"object"}`,
		fn: func(ctx context.Context, args json.RawMessage) ([]llm.Block, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}}
	p := newProgram(t, []agent.Tool{slow}, codemode.WithCallTimeout(200*time.Millisecond))
	rep, err := p.Run(context.Background(), "try:\n    tools.slow()\nexcept tools.ToolError as e:\n    r = str(e)\nr")
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := rep.Execution.Text(); !strings.Contains(got, "no answer within 200ms") {
		t.Fatalf("result %q", got)
	}
}

func TestImagesBothWays(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\nfake")
	cam := &fnTool{name: "snapshot", schema: `{"type":"object"}`,
		fn: func(ctx context.Context, args json.RawMessage) ([]llm.Block, error) {
			return []llm.Block{llm.Text{Text: "front door"}, llm.Image{MediaType: "image/png", Data: png}}, nil
		}}
	p := newProgram(t, []agent.Tool{cam})
	rep, err := p.Run(context.Background(), `
import base64
items = tools.snapshot()
img = [i for i in items if i["type"] == "image"][0]
print(items[0]["text"], img["media_type"], base64.b64decode(img["data"])[:4])
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
plt.plot([1, 2, 3])
plt.show()`)
	if err != nil || rep.Execution.Error != nil {
		t.Fatalf("Run: %v %+v", err, rep.Execution.Error)
	}
	blocks := rep.Blocks()
	if !strings.Contains(text(blocks), `front door image/png b'\x89PNG'`) {
		t.Fatalf("the program did not get the tool's image:\n%s", text(blocks))
	}
	var imgs int
	for _, b := range blocks {
		if im, ok := b.(llm.Image); ok && im.MediaType == "image/png" && len(im.Data) > 100 {
			imgs++
		}
	}
	if imgs != 1 {
		t.Fatalf("the plot did not come back as one image block: %d", imgs)
	}
}

func TestE2BIsNotSupported(t *testing.T) {
	srv := e2btest.NewServer()
	t.Cleanup(srv.Close)
	c, err := e2b.NewClient(srv.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	weather, _ := weatherTools()
	p, err := codemode.New(c.Provider(), []agent.Tool{weather})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	_, err = p.Call(context.Background(), json.RawMessage(`{"code":"tools.get_weather(city='Paris')"}`))
	if !errors.Is(err, sandbox.ErrHostCallsUnsupported) {
		t.Fatalf("err = %v, want sandbox.ErrHostCallsUnsupported", err)
	}
}

func TestConstructionRefusesCollisions(t *testing.T) {
	a := &fnTool{name: "get-x", schema: `{}`}
	b := &fnTool{name: "get_x", schema: `{}`}
	if _, err := codemode.New(localProvider(t), []agent.Tool{a, b}); err == nil || !strings.Contains(err.Error(), "both be the Python function") {
		t.Fatalf("err = %v", err)
	}
	if _, err := codemode.New(localProvider(t), []agent.Tool{a, a}); err == nil {
		t.Fatal("two tools with one name were accepted")
	}
	if _, err := codemode.New(localProvider(t), []agent.Tool{nil}); err == nil {
		t.Fatal("a nil tool was accepted")
	}
}
