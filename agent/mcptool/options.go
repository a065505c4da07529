package mcptool

import "github.com/modelcontextprotocol/go-sdk/mcp"

// Option configures [Connect].
type Option func(*config)

type config struct {
	name    string
	prefix  string
	rename  func(string) string
	only    []string
	filters []func(*mcp.Tool) bool
}

// WithName names the server in errors; the default is the name the
// server gives itself at initialization, or else the command's base name
// or the URL's host.
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithPrefix puts prefix before the name of each tool, so that two
// servers' tools do not collide ("github_" + "search"). It applies after
// [WithRename].
func WithPrefix(prefix string) Option { return func(c *config) { c.prefix = prefix } }

// WithRename names each tool for the model: rename gets the server's name
// and returns the model's. The tool is still called on the server by its
// own name.
func WithRename(rename func(name string) string) Option {
	return func(c *config) { c.rename = rename }
}

// WithTools keeps only the named tools (the server's names). Connect
// fails if the server has no tool of one of the names.
func WithTools(names ...string) Option {
	return func(c *config) { c.only = append(c.only, names...) }
}

// WithFilter keeps only the tools keep returns true for. It sees each
// tool as the server lists it (annotations included); several filters
// must all agree.
func WithFilter(keep func(*mcp.Tool) bool) Option {
	return func(c *config) { c.filters = append(c.filters, keep) }
}
