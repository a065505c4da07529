package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	primitives "github.com/ttadev/primitives"
	"github.com/ttadev/primitives/agent"
	"github.com/ttadev/primitives/integrations/llm"
	"github.com/ttadev/primitives/observability"
	"github.com/ttadev/primitives/sandbox/local"
)

// A typed tool: the schema comes from the input type, the model's
// arguments are checked and decoded, the result encoded as JSON.
func ExampleNewTool() {
	type convertIn struct {
		Amount float64 `json:"amount" jsonschema:"the amount to convert"`
		From   string  `json:"from" jsonschema:"ISO currency code, e.g. EUR"`
		To     string  `json:"to" jsonschema:"ISO currency code, e.g. USD"`
	}
	type convertOut struct {
		Amount   float64 `json:"amount"`
		Currency string  `json:"currency"`
	}
	convert := agent.NewTool("convert", "Converts an amount between currencies.",
		func(_ context.Context, in convertIn) (convertOut, error) {
			if in.From != "EUR" || in.To != "USD" {
				return convertOut{}, fmt.Errorf("no rate from %s to %s", in.From, in.To) // the model reads it
			}
			return convertOut{Amount: in.Amount * 1.25, Currency: "USD"}, nil
		})

	fmt.Println(string(convert.Definition().InputSchema))
	out, _ := convert.Call(context.Background(), json.RawMessage(`{"amount": 8, "from": "EUR", "to": "USD"}`))
	fmt.Println(out[0].(llm.Text).Text)
	_, err := convert.Call(context.Background(), json.RawMessage(`{"amount": "eight", "from": "EUR", "to": "USD"}`))
	fmt.Println(err)
	// Output:
	// {"type":"object","properties":{"amount":{"type":"number","description":"the amount to convert"},"from":{"type":"string","description":"ISO currency code, e.g. EUR"},"to":{"type":"string","description":"ISO currency code, e.g. USD"}},"required":["amount","from","to"],"additionalProperties":false}
	// {"amount":10,"currency":"USD"}
	// the arguments do not follow the tool's schema: validating root: validating /properties/amount: type: eight has type "string", want "number"
}

// A data-analysis agent: the model writes a CSV into its Python session,
// loads it with pandas and plots it; the plot comes back to the model as
// an image. The model here is a stand-in that makes the calls a chat
// model would make and prints what it gets back; in production it is
// llm.NewAnthropic or llm.NewOpenAI.
func ExampleSandboxTools() {
	quiet := observability.WithLogger(slog.New(slog.DiscardHandler))
	provider, err := local.New(quiet)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer provider.Close()

	const csv = "month,region,sales\n2026-01,EU,120\n2026-01,US,90\n2026-02,EU,150\n2026-02,US,110\n"
	const analysis = `import pandas as pd
import matplotlib.pyplot as plt
df = pd.read_csv("sales.csv")
totals = df.groupby("month")["sales"].sum()
totals.plot(kind="bar", title="Sales by month")
print(totals.to_string())
int(totals.max())`
	calls := [][]llm.ToolCall{
		{{ID: "t1", Name: agent.ToolWriteFile, Arguments: mustJSON(map[string]string{"path": "sales.csv", "content": csv})}},
		{{ID: "t2", Name: agent.ToolRunCode, Arguments: mustJSON(map[string]string{"code": analysis})}},
	}
	model := primitives.Func[llm.Request, llm.Response](func(_ context.Context, req llm.Request) (llm.Response, error) {
		turn := (len(req.Messages) - 1) / 2
		if turn > 0 { // what the last tool calls returned
			for _, b := range req.Messages[len(req.Messages)-1].Blocks {
				for _, c := range b.(llm.ToolResult).Content {
					switch c := c.(type) {
					case llm.Text:
						var rep struct {
							Stdout, Result string
							Images         int
						}
						if json.Unmarshal([]byte(c.Text), &rep) != nil { // write_file's answer
							fmt.Println(c.Text)
							continue
						}
						fmt.Printf("stdout:\n%sresult: %s, images: %d\n", rep.Stdout, rep.Result, rep.Images)
					case llm.Image:
						fmt.Println("an image:", c.MediaType)
					}
				}
			}
		}
		if turn < len(calls) {
			r := llm.Response{ToolCalls: calls[turn], Stop: llm.StopToolUse}
			for _, c := range calls[turn] {
				r.Content = append(r.Content, c)
			}
			return r, nil
		}
		return llm.Response{Text: "February was the best month: 260.", Stop: llm.StopEndTurn}, nil
	})

	a, err := agent.New(model, agent.Tools(agent.SandboxTools(provider)...),
		agent.System("You analyse data with Python."), agent.MaxTurns(8), quiet)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := a.Execute(context.Background(), agent.Task("Which month sold most? Data:\n"+csv))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Text, "after", res.Turns, "turns")
	// Output:
	// wrote 78 bytes to /work/sales.csv
	// stdout:
	// month
	// 2026-01    210
	// 2026-02    260
	// result: 260, images: 1
	// an image: image/png
	// February was the best month: 260. after 3 turns
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
