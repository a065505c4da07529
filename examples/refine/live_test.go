package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ttadev/primitives/integrations/llm"
)

// TestLive runs the example on the model the environment configures. It
// runs only with RUN_INTEGRATION=true and a model configured:
//
//	ANTHROPIC_API_KEY=... RUN_INTEGRATION=true go test -run TestLive ./examples/refine/
func TestLive(t *testing.T) {
	if os.Getenv("RUN_INTEGRATION") != "true" {
		t.Skip("set RUN_INTEGRATION=true and a model (see the package comment) to run against a real model")
	}
	if os.Getenv(llm.EnvAnthropicAPIKey) == "" && os.Getenv(llm.EnvOpenAIAPIKey) == "" && os.Getenv(llm.EnvOpenAIBaseURL) == "" {
		t.Skip("RUN_INTEGRATION is set, but no model is configured (ANTHROPIC_API_KEY, OPENAI_API_KEY or OPENAI_BASE_URL)")
	}
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := run(ctx, &out, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "all tests passed") {
		t.Fatalf("output:\n%s", out.String())
	}
	t.Logf("\n%s", out.String())
}
