package llm_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ttadev/primitives/integrations/llm"
)

// The live tests run against the real services. Each needs its key and
// RUN_INTEGRATION=true, and is skipped otherwise:
//
//	ANTHROPIC_API_KEY=sk-ant-... RUN_INTEGRATION=true go test -run TestLive ./integrations/llm/
//	OPENAI_API_KEY=sk-... RUN_INTEGRATION=true go test -run TestLive ./integrations/llm/
//
// LLM_TEST_ANTHROPIC_MODEL and LLM_TEST_OPENAI_MODEL choose the models
// (defaults: claude-haiku-4-5, gpt-4o-mini). For an OpenAI-compatible
// server set OPENAI_BASE_URL (and OPENAI_API_KEY to any value).

func liveModel(env, def string) string {
	if v := os.Getenv(env); v != "" {
		return v
	}
	return def
}

func liveProviders(t *testing.T) []llm.Provider {
	if os.Getenv("RUN_INTEGRATION") != "true" {
		t.Skip("set RUN_INTEGRATION=true and ANTHROPIC_API_KEY or OPENAI_API_KEY to run against the services")
	}
	var ps []llm.Provider
	if os.Getenv(llm.EnvAnthropicAPIKey) != "" {
		p, err := llm.NewAnthropic(llm.WithModel(liveModel("LLM_TEST_ANTHROPIC_MODEL", "claude-haiku-4-5")))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	if os.Getenv(llm.EnvOpenAIAPIKey) != "" {
		p, err := llm.NewOpenAI(llm.WithModel(liveModel("LLM_TEST_OPENAI_MODEL", "gpt-4o-mini")))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	if len(ps) == 0 {
		t.Skip("set ANTHROPIC_API_KEY or OPENAI_API_KEY to run against the services")
	}
	return ps
}

func TestLiveChatAndStream(t *testing.T) {
	for _, p := range liveProviders(t) {
		t.Run(p.Name(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			req := llm.Request{
				System:    "Answer with one word.",
				Messages:  []llm.Message{{Role: llm.RoleUser, Content: "What is the capital of France?"}},
				MaxTokens: 20,
			}
			resp, err := p.Execute(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.ToLower(resp.Text), "paris") || resp.Usage.InputTokens == 0 || resp.Usage.OutputTokens == 0 || resp.Model == "" {
				t.Fatalf("response = %+v", resp)
			}
			var deltas strings.Builder
			req.OnDelta = func(d string) { deltas.WriteString(d) }
			resp, err = p.Execute(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if deltas.String() != resp.Text || resp.Usage.OutputTokens == 0 {
				t.Fatalf("streamed %q, response %+v", deltas.String(), resp)
			}
		})
	}
}

func TestLiveErrors(t *testing.T) {
	for _, p := range liveProviders(t) {
		t.Run(p.Name(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := p.Execute(ctx, llm.Request{Model: "no-such-model-ttadev", Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}, MaxTokens: 5})
			var api *llm.APIError
			if !errors.As(err, &api) || api.Retryable() {
				t.Fatalf("unknown model: err = %v, want a non-retryable *llm.APIError", err)
			}
		})
	}
}
