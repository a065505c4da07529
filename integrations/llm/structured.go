package llm

import (
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/ttadev/primitives"
)

// ErrStructuredOutput is matched by *StructuredOutputError.
var ErrStructuredOutput = errors.New("llm: the reply does not follow the schema")

// StructuredOutputError is returned by a [Structured] step whose reply is
// not one JSON value following the schema: not JSON, a property missing
// or extra, a value of the wrong type or out of range, or a value that
// does not decode into the Go type. It matches [ErrStructuredOutput] and
// is not retryable: the model was given the schema and did not follow it
// (a reply cut at its token limit says so in Err).
//
// Its message says where and how the reply breaks the schema without
// quoting the reply's text (a reply may hold personal data, and errors
// reach logs and spans): its strings are shown as <string>, a date-time
// that does not parse is not repeated. Raw has the reply.
type StructuredOutputError struct {
	// Raw is the reply's text as the model wrote it.
	Raw string
	// Err says what is wrong with it.
	Err error
}

// Error gives what is wrong with the reply, without the reply.
func (e *StructuredOutputError) Error() string {
	return "llm: the reply does not follow the schema: " + e.Err.Error()
}

// Is matches ErrStructuredOutput.
func (e *StructuredOutputError) Is(target error) bool { return target == ErrStructuredOutput }

// Unwrap returns Err.
func (e *StructuredOutputError) Unwrap() error { return e.Err }

// Retryable reports false.
func (e *StructuredOutputError) Retryable() bool { return false }

func (*StructuredOutputError) ownError() {}

// StructuredOption configures [Structured]. Build it with
// [WithSchemaName] or [WithSchemaDescription].
type StructuredOption func(*structuredConfig)

type structuredConfig struct {
	name        string
	description string
}

var schemaName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// WithSchemaName names the schema in the request (OpenAI's
// json_schema.name), instead of the name of the Go type (or "response"
// when that name is not a valid one, as for a generic or unnamed type).
// It panics when name is not 1 to 64 letters, digits, '_' or '-'.
func WithSchemaName(name string) StructuredOption {
	if !schemaName.MatchString(name) {
		panic(fmt.Sprintf("llm: WithSchemaName: %q is not 1 to 64 letters, digits, '_' or '-'", name))
	}
	return func(c *structuredConfig) { c.name = name }
}

// WithSchemaDescription tells the model what the value is for (OpenAI's
// json_schema.description).
func WithSchemaDescription(description string) StructuredOption {
	return func(c *structuredConfig) { c.description = description }
}

// Structured turns p into a typed step: the returned primitive builds a
// [Request] from its input with build, asks for a reply that is one JSON
// object following the JSON Schema of T (Request.ResponseFormat, replacing
// any that build set), runs p, checks the reply against the schema and
// decodes it into a T:
//
//	type Verdict struct {
//		Correct bool     `json:"correct" jsonschema:"whether the code does what was asked"`
//		Issues  []string `json:"issues" jsonschema:"what is wrong, one issue per item"`
//	}
//	review := llm.Structured[string, Verdict](provider, func(code string) llm.Request {
//		return llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Review:\n" + code}}}
//	})
//
// The schema is made once, here, from T with github.com/google/jsonschema-go,
// in the form OpenAI's strict mode requires: every object lists all its
// properties as required and allows no other ("additionalProperties":
// false). A field's `jsonschema:"..."` tag is its description; its `json`
// tag names it as encoding/json does. Properties keep the fields' order.
//
// T must be a struct. Its exported fields may be of these types, nested
// at will: bool, the integer and float types, string, time.Time (a string
// of format "date-time"), structs, slices and arrays of these, and
// pointers to them (a pointer, like a slice, may be null). A field tagged
// omitempty or omitzero is required all the same (a pointer lets the
// model answer null). Structured panics, naming the field, for anything
// else: a T that is not a struct; a map (strict mode lists every
// property: use a slice of key-value structs); an interface; []byte or
// json.RawMessage; a type with its own UnmarshalJSON or UnmarshalText,
// whose JSON the schema cannot describe; a field with the ",string"
// option; an embedded struct named by a json tag; a recursive type;
// funcs, channels and complex numbers.
//
// The schema sent leaves out minimum, maximum, minItems and maxItems (of
// the sized integer types and of arrays), which Anthropic's structured
// output does not accept, and states them in the property's description
// instead; the reply is checked against the whole schema, so a value out
// of range is still refused.
//
// A reply that is not one JSON object following the schema, or does not
// decode into T, is a *StructuredOutputError carrying the text; the
// errors of p are returned as they are. Checking and decoding a small
// reply costs about 12 µs (BenchmarkStructuredDecode). It is safe
// for concurrent use when p and build are. It panics when p or build is
// nil, or an option is nil.
func Structured[In, T any](p primitives.Primitive[Request, Response], build func(In) Request, opts ...StructuredOption) primitives.Primitive[In, T] {
	if primitives.IsNil(p) {
		panic("llm: Structured: primitive is nil")
	}
	if build == nil {
		panic("llm: Structured: build function is nil")
	}
	cfg := structuredConfig{}
	for i, o := range opts {
		if o == nil {
			panic(fmt.Sprintf("llm: Structured: option %d is nil", i))
		}
		o(&cfg)
	}
	t := reflect.TypeFor[T]()
	sent, resolved, err := structuredSchema(t)
	if err != nil {
		panic("llm: Structured: " + err.Error())
	}
	name := cfg.name
	if name == "" {
		name = t.Name()
		if !schemaName.MatchString(name) {
			name = "response"
		}
	}
	return &structured[In, T]{
		p:        p,
		build:    build,
		format:   &JSONSchemaFormat{Name: name, Description: cfg.description, Schema: sent},
		resolved: resolved,
	}
}

type structured[In, T any] struct {
	p        primitives.Primitive[Request, Response]
	build    func(In) Request
	format   *JSONSchemaFormat // shared by every request, read only
	resolved *jsonschema.Resolved
}

// Execute builds the request, asks for the schema, runs the model and
// decodes the reply.
func (s *structured[In, T]) Execute(ctx context.Context, in In) (T, error) {
	req := s.build(in)
	req.ResponseFormat = s.format
	resp, err := s.p.Execute(ctx, req)
	if err != nil {
		var zero T
		return zero, err
	}
	return s.decode(&resp)
}

// decode checks the reply's text against the schema and decodes it.
func (s *structured[In, T]) decode(resp *Response) (T, error) {
	var out T
	raw := []byte(resp.Text)
	var v any
	err := json.Unmarshal(raw, &v)
	if err != nil {
		err = fmt.Errorf("not one JSON value: %w", err)
	} else if err = s.resolved.Validate(masked(v)); err == nil {
		if err = json.Unmarshal(raw, &out); err != nil {
			if _, ok := errors.AsType[*time.ParseError](err); ok {
				// Its message quotes the value.
				err = errors.New("a date-time is not in RFC 3339 form (2006-01-02T15:04:05Z07:00)")
			}
			err = fmt.Errorf("does not decode into %T: %w", out, err)
		}
	}
	if err == nil {
		return out, nil
	}
	if resp.Stop == StopMaxTokens {
		err = fmt.Errorf("the reply was cut at its token limit: %w", err)
	}
	var zero T
	return zero, &StructuredOutputError{Raw: resp.Text, Err: err}
}

// masked replaces, in place, every string of v (a value decoded into
// any) by "<string>", so that the validator's messages, which quote the
// values they refuse, quote none of the reply's text. The schemas made
// here constrain no string's content, so the verdict is the same.
func masked(v any) any {
	switch x := v.(type) {
	case string:
		return "<string>"
	case map[string]any:
		for k, e := range x {
			x[k] = masked(e)
		}
	case []any:
		for i, e := range x {
			x[i] = masked(e)
		}
	}
	return v
}

// String names the step for debugging.
func (s *structured[In, T]) String() string {
	var out T
	return fmt.Sprintf("llm.Structured[%T](%T)", out, s.p)
}

var (
	timeType            = reflect.TypeFor[time.Time]()
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// structuredSchema returns the schema of t to send (as JSON) and the whole
// schema, resolved for checking replies.
func structuredSchema(t reflect.Type) (json.RawMessage, *jsonschema.Resolved, error) {
	if t.Kind() != reflect.Struct {
		return nil, nil, fmt.Errorf("the type %s is not a struct (the reply is a JSON object: use a struct, not a pointer to one)", t)
	}
	if err := checkStructuredType(t, t.String(), map[reflect.Type]bool{}); err != nil {
		return nil, nil, err
	}
	full, err := jsonschema.ForType(t, &jsonschema.ForOptions{TypeSchemas: map[reflect.Type]*jsonschema.Schema{
		timeType: {Type: "string", Format: "date-time"},
	}})
	if err != nil {
		return nil, nil, err
	}
	strict(full)
	resolved, err := full.Resolve(nil)
	if err != nil {
		return nil, nil, err
	}
	sent := full.CloneSchemas()
	portable(sent)
	b, err := json.Marshal(sent)
	if err != nil {
		return nil, nil, err
	}
	return b, resolved, nil
}

// checkStructuredType refuses what the schema cannot describe in strict
// mode or what would not decode as the schema says. path names the field.
func checkStructuredType(t reflect.Type, path string, seen map[reflect.Type]bool) error {
	if t == timeType {
		return nil
	}
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface &&
		(reflect.PointerTo(t).Implements(jsonUnmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType)) {
		return fmt.Errorf("%s: the type %s decodes itself (UnmarshalJSON or UnmarshalText), so its JSON has no schema here", path, t)
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return nil
	case reflect.Pointer:
		return checkStructuredType(t.Elem(), path, seen)
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return fmt.Errorf("%s: %s is base64 text in JSON, which the schema cannot describe; use a string", path, t)
		}
		return checkStructuredType(t.Elem(), path+"[]", seen)
	case reflect.Map:
		return fmt.Errorf("%s: a map (%s) cannot be described in strict mode, where every object lists its properties; use a slice of key-value structs", path, t)
	case reflect.Interface:
		return fmt.Errorf("%s: an interface (%s) has no schema; use a concrete type", path, t)
	case reflect.Struct:
		if seen[t] {
			return fmt.Errorf("%s: the type %s contains itself; recursive types are not supported", path, t)
		}
		seen[t] = true
		defer delete(seen, t)
		for _, f := range reflect.VisibleFields(t) {
			tag, hasTag := f.Tag.Lookup("json")
			name, opts, _ := strings.Cut(tag, ",")
			if hasTag && name == "-" && opts == "" {
				continue
			}
			if f.Anonymous {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					if name != "" {
						return fmt.Errorf("%s.%s: an embedded struct named by a json tag is not supported; make it a named field", path, f.Name)
					}
					continue // its fields are among the visible fields
				}
			}
			if !f.IsExported() {
				continue
			}
			for o := range strings.SplitSeq(opts, ",") {
				if o == "string" {
					return fmt.Errorf("%s.%s: the json option \",string\" is not supported (the schema gives the value's own type)", path, f.Name)
				}
			}
			if err := checkStructuredType(f.Type, path+"."+f.Name, seen); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%s: the type %s has no JSON form", path, t)
}

// strict makes every object of s list all its properties as required, as
// OpenAI's strict mode requires.
func strict(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	if s.Type == "object" || slices.Contains(s.Types, "object") {
		// Every object here is a struct's, which allows no other
		// properties already (maps are refused).
		s.Required = append([]string(nil), s.PropertyOrder...)
		for name := range s.Properties {
			if !slices.Contains(s.Required, name) {
				s.Required = append(s.Required, name)
			}
		}
	}
	for _, p := range s.Properties {
		strict(p)
	}
	strict(s.Items)
}

// portable moves the keywords Anthropic's structured output does not
// accept (minimum, maximum, minItems, maxItems) from s into its
// description.
func portable(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	var notes []string
	if s.Minimum != nil {
		notes = append(notes, "minimum "+strconv.FormatFloat(*s.Minimum, 'f', -1, 64))
		s.Minimum = nil
	}
	if s.Maximum != nil {
		notes = append(notes, "maximum "+strconv.FormatFloat(*s.Maximum, 'f', -1, 64))
		s.Maximum = nil
	}
	if s.MinItems != nil && s.MaxItems != nil && *s.MinItems == *s.MaxItems {
		notes = append(notes, "exactly "+strconv.Itoa(*s.MinItems)+" items")
		s.MinItems, s.MaxItems = nil, nil
	}
	if s.MinItems != nil {
		notes = append(notes, "at least "+strconv.Itoa(*s.MinItems)+" items")
		s.MinItems = nil
	}
	if s.MaxItems != nil {
		notes = append(notes, "at most "+strconv.Itoa(*s.MaxItems)+" items")
		s.MaxItems = nil
	}
	if len(notes) > 0 {
		note := "(" + strings.Join(notes, ", ") + ")"
		if s.Description == "" {
			s.Description = note
		} else {
			s.Description += " " + note
		}
	}
	for _, p := range s.Properties {
		portable(p)
	}
	portable(s.Items)
}
