// Package envmodel picks the examples' chat model from the environment:
// ANTHROPIC_API_KEY (Anthropic; ANTHROPIC_BASE_URL changes the endpoint),
// else OPENAI_BASE_URL with a model named (any OpenAI-compatible server),
// else OPENAI_API_KEY (OpenAI).
package envmodel

import (
	"fmt"
	"os"

	"github.com/ttadev/primitives/integrations/llm"
)

// Default models of the cloud services.
const (
	DefaultAnthropicModel = "claude-sonnet-4-5"
	DefaultOpenAIModel    = "gpt-4.1-mini"
)

// ConfigError reports a missing configuration; the examples exit with 2
// on it.
type ConfigError struct{ Msg string }

// Error returns the message, which says what to set.
func (e *ConfigError) Error() string { return e.Msg }

// FromEnv builds the chat model the environment selects. envModel names
// the variable that names the model (required with OPENAI_BASE_URL);
// localModel is the model suggested for a local server, e.g. "qwen2.5:7b".
// It returns the model and a line describing it.
func FromEnv(envModel, localModel string) (llm.Provider, string, error) {
	model := os.Getenv(envModel)
	switch {
	case os.Getenv(llm.EnvAnthropicAPIKey) != "":
		if model == "" {
			model = DefaultAnthropicModel
		}
		p, err := llm.NewAnthropic(llm.WithModel(model))
		return p, "Anthropic, model " + model, err
	case os.Getenv(llm.EnvOpenAIBaseURL) != "":
		base := os.Getenv(llm.EnvOpenAIBaseURL)
		if model == "" {
			return nil, "", &ConfigError{fmt.Sprintf("%s is set (%s) but %s is not: set %s to a model that server serves, e.g. %s=%s for Ollama",
				llm.EnvOpenAIBaseURL, base, envModel, envModel, envModel, localModel)}
		}
		p, err := llm.NewOpenAI(llm.WithModel(model))
		return p, "OpenAI-compatible server at " + base + ", model " + model, err
	case os.Getenv(llm.EnvOpenAIAPIKey) != "":
		if model == "" {
			model = DefaultOpenAIModel
		}
		p, err := llm.NewOpenAI(llm.WithModel(model))
		return p, "OpenAI, model " + model, err
	}
	return nil, "", &ConfigError{"no chat model configured. Set one of:\n" +
		"  " + llm.EnvAnthropicAPIKey + "=<key>                      (Anthropic; " + envModel + " optional, default " + DefaultAnthropicModel +
		"; " + llm.EnvAnthropicBaseURL + " to change the endpoint)\n" +
		"  " + llm.EnvOpenAIBaseURL + "=<url> " + envModel + "=<model>   (an OpenAI-compatible server, e.g. Ollama:\n" +
		"      " + llm.EnvOpenAIBaseURL + "=http://localhost:11434/v1 " + envModel + "=" + localModel + ")\n" +
		"  " + llm.EnvOpenAIAPIKey + "=<key>                         (OpenAI; " + envModel + " optional, default " + DefaultOpenAIModel + ")"}
}
