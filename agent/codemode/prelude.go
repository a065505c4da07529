package codemode

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/ttadev/primitives/integrations/llm"
)

// pyName turns a tool's name into a Python identifier: '-' and other
// characters that cannot appear in one become '_', a leading digit gets a
// '_' in front, and a keyword gets a '_' after it.
func pyName(name string) string {
	var b strings.Builder
	for i, r := range name {
		switch {
		case r == '_' || unicode.IsLetter(r) && r < unicode.MaxASCII || unicode.IsDigit(r) && r < unicode.MaxASCII:
			if i == 0 && unicode.IsDigit(r) {
				b.WriteByte('_')
			}
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := b.String()
	if pyKeywords[s] {
		s += "_"
	}
	return s
}

var pyKeywords = map[string]bool{
	"False": true, "None": true, "True": true, "and": true, "as": true, "assert": true, "async": true,
	"await": true, "break": true, "class": true, "continue": true, "def": true, "del": true, "elif": true,
	"else": true, "except": true, "finally": true, "for": true, "from": true, "global": true, "if": true,
	"import": true, "in": true, "is": true, "lambda": true, "nonlocal": true, "not": true, "or": true,
	"pass": true, "raise": true, "return": true, "try": true, "while": true, "with": true, "yield": true,
}

// prelude is the Python that defines the tools namespace, as one line so
// the program's own line numbers stay right: an exec of the definitions.
func prelude(defs []llm.Tool, names []string) string {
	var src strings.Builder
	src.WriteString("import sandbox_host as _h\n")
	src.WriteString("class ToolError(_h.HostCallError):\n    'A tool call failed: an unknown tool, bad arguments, or the tool refused.'\n")
	src.WriteString("def _tool(name, py, doc):\n")
	src.WriteString("    def call(**kwargs):\n")
	src.WriteString("        try:\n            return _h.call(name, kwargs)\n")
	src.WriteString("        except _h.HostCallError as e:\n            raise ToolError(str(e)) from None\n")
	src.WriteString("    call.__name__ = call.__qualname__ = py\n    call.__doc__ = doc\n    return call\n")
	src.WriteString("class _Tools:\n    'The tools of this program: call them with keyword arguments.'\n    ToolError = ToolError\n")
	src.WriteString("    def __repr__(self):\n        return '<tools: ' + ', '.join(n for n in vars(self)) + '>'\n")
	src.WriteString("tools = _Tools()\n")
	for i, d := range defs {
		fmt.Fprintf(&src, "tools.%s = _tool(%s, %s, %s)\n", names[i], strconv.Quote(d.Name), strconv.Quote(names[i]), strconv.Quote(d.Description))
	}
	src.WriteString("del _tool, _Tools\n")
	return "exec(" + strconv.Quote(src.String()) + ", globals())\n"
}

// signature describes a tool to the model as the Python function the
// program calls: its keyword arguments from the schema's properties.
func signature(d llm.Tool, py string) string {
	var schema struct {
		Properties map[string]struct {
			Type        any    `json:"type"`
			Description string `json:"description"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	_ = json.Unmarshal(d.InputSchema, &schema)
	required := map[string]bool{}
	for _, r := range schema.Required {
		required[r] = true
	}
	var args []string
	var docs []string
	for _, name := range slices.Sorted(maps.Keys(schema.Properties)) {
		p := schema.Properties[name]
		t := fmt.Sprint(p.Type)
		if p.Type == nil {
			t = "any"
		}
		a := name + ": " + t
		if !required[name] {
			a += " = None"
		}
		args = append(args, a)
		if p.Description != "" {
			docs = append(docs, "    "+name+": "+p.Description)
		}
	}
	s := "tools." + py + "(" + strings.Join(args, ", ") + ")"
	if d.Description != "" {
		s += "\n    " + strings.ReplaceAll(strings.TrimSpace(d.Description), "\n", "\n    ")
	}
	if len(docs) > 0 {
		s += "\n" + strings.Join(docs, "\n")
	}
	return s
}
