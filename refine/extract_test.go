package refine_test

import (
	"testing"

	"github.com/ttadev/primitives/refine"
)

func TestExtractCode(t *testing.T) {
	for _, tc := range []struct{ name, reply, want string }{
		{"tagged", "Here it is:\n\n```python\nprint(1)\n```\nIt prints 1.", "print(1)"},
		{"untagged", "```\nx = 2\nprint(x)\n```", "x = 2\nprint(x)"},
		{"no fence", "  print('bare')\n", "print('bare')"},
		{"several python blocks joined", "First:\n```python\ndef f():\n    return 3\n```\nThen:\n```py\nprint(f())\n```\n", "def f():\n    return 3\n\nprint(f())"},
		{"python preferred over others", "```bash\npip install x\n```\n```python\nimport x\n```\n```\noutput sample\n```", "import x"},
		{"untagged when no python", "```text\n42\n```\n```\nprint(42)\n```", "print(42)"},
		{"only other languages", "```bash\nls\n```", ""},
		{"tag case and attributes", "```Python title=\"a.py\"\nprint(2)\n```", "print(2)"},
		{"braced tag", "``` {.python}\nprint(3)\n```", "print(3)"},
		{"tildes", "~~~python\nprint(4)\n~~~", "print(4)"},
		{"longer fence holds a shorter one", "````python\ns = '''\n```\n'''\nprint(s)\n````", "s = '''\n```\n'''\nprint(s)"},
		{"unterminated (cut by the token limit)", "```python\nprint(5)\nprint(6", "print(5)\nprint(6"},
		{"indented in a list", "1. Code:\n   ```python\n   if True:\n       print(7)\n   ```\n", "if True:\n    print(7)"},
		{"CRLF", "```python\r\nprint(8)\r\n```\r\n", "print(8)"},
		{"empty block skipped", "```python\n```\n```python\nprint(9)\n```", "print(9)"},
		{"inline triple backticks are not a fence", "Use ```print(10)``` to print.", "Use ```print(10)``` to print."},
		{"empty reply", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := refine.ExtractCode(tc.reply); got != tc.want {
				t.Fatalf("ExtractCode(%q)\n got %q\nwant %q", tc.reply, got, tc.want)
			}
		})
	}
}

func FuzzExtractCode(f *testing.F) {
	f.Add("```python\nprint(1)\n```")
	f.Add("text\n~~~\ncode\n")
	f.Fuzz(func(t *testing.T, reply string) {
		got := refine.ExtractCode(reply)
		if len(got) > len(reply) {
			t.Fatalf("extracted %d bytes from %d", len(got), len(reply))
		}
	})
}
