package refine

import (
	"context"
	"strings"

	primitives "github.com/ttadev/primitives"
)

// ExtractCode returns the Python program in an LLM's reply:
//   - the blocks fenced with ``` or ~~~ (three or more) whose language is
//     python, py, python3, py3 or ipython, joined in order by a blank line;
//   - else the fenced blocks without a language, joined the same way;
//   - else, when the reply has no fence at all, the whole reply (a model
//     that answers with bare code);
//   - else "" (only blocks of other languages: a shell command, an
//     output sample).
//
// Several blocks are joined because a model that splits a program into
// parts means them to run together. A block left open at the end of the
// reply (a reply cut by its token limit) runs to the end. An indented
// fence (inside a list item) has that indentation removed from its lines.
// ExtractCode costs one pass over the reply and is safe for concurrent
// use.
func ExtractCode(reply string) string {
	var python, plain []string
	fenced := false
	lines := strings.SplitAfter(reply, "\n")
	for i := 0; i < len(lines); i++ {
		indent, marker, info, ok := openingFence(lines[i])
		if !ok {
			continue
		}
		fenced = true
		var body strings.Builder
		j := i + 1
		for ; j < len(lines); j++ {
			if closingFence(lines[j], marker) {
				break
			}
			body.WriteString(dedent(lines[j], indent))
		}
		i = j
		code := strings.TrimRight(body.String(), " \t\r\n")
		if strings.TrimSpace(code) == "" {
			continue
		}
		switch lang := language(info); lang {
		case "python", "py", "python3", "py3", "ipython":
			python = append(python, code)
		case "":
			plain = append(plain, code)
		}
	}
	switch {
	case len(python) > 0:
		return strings.Join(python, "\n\n")
	case len(plain) > 0:
		return strings.Join(plain, "\n\n")
	case !fenced:
		return strings.TrimSpace(reply)
	}
	return ""
}

// openingFence reports whether line opens a fenced block, returning its
// indentation, its marker (the run of ` or ~) and its info string.
func openingFence(line string) (indent int, marker, info string, ok bool) {
	line = strings.TrimRight(line, "\r\n")
	for indent < len(line) && line[indent] == ' ' {
		indent++
	}
	rest := line[indent:]
	if len(rest) < 3 || (rest[0] != '`' && rest[0] != '~') {
		return 0, "", "", false
	}
	n := 0
	for n < len(rest) && rest[n] == rest[0] {
		n++
	}
	if n < 3 {
		return 0, "", "", false
	}
	info = strings.TrimSpace(rest[n:])
	if rest[0] == '`' && strings.Contains(info, "`") {
		return 0, "", "", false // inline code such as ```x``` on one line
	}
	return indent, rest[:n], info, true
}

// closingFence reports whether line closes a block opened with marker: the
// same character, at least as many, and nothing after it.
func closingFence(line, marker string) bool {
	s := strings.TrimSpace(line)
	if len(s) < len(marker) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != marker[0] {
			return false
		}
	}
	return true
}

// dedent removes up to n leading spaces from line.
func dedent(line string, n int) string {
	i := 0
	for i < n && i < len(line) && line[i] == ' ' {
		i++
	}
	return line[i:]
}

// language returns the first word of a fence's info string, lower case,
// without the braces and dot of the {.python} form.
func language(info string) string {
	if f := strings.Fields(info); len(f) > 0 {
		return strings.ToLower(strings.Trim(f[0], "{}."))
	}
	return ""
}

// FromText adapts a generator that answers with text (an LLM reply, a
// prompt template's output) to a generator of the loop: the code is
// [ExtractCode] of the text, the usage zero. A nil p panics.
func FromText(p primitives.Primitive[Request, string]) primitives.Primitive[Request, Generation] {
	if primitives.IsNil(p) {
		panic("refine: FromText: generator is nil")
	}
	return primitives.Func[Request, Generation](func(ctx context.Context, req Request) (Generation, error) {
		reply, err := p.Execute(ctx, req)
		if err != nil {
			return Generation{}, err
		}
		return Generation{Code: ExtractCode(reply)}, nil
	})
}
