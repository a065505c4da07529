package performance

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
)

// defaultKeyFunc returns the key function of Cache (CacheBy takes one):
//   - a string input is its own key (no cost);
//   - other strings, integers, booleans and floats are formatted with
//     strconv;
//   - anything else is encoded as JSON (struct fields in declaration order,
//     map keys sorted) and the key is the hex SHA-256 of that encoding, so
//     equal inputs give equal keys in every process.
//
// It panics when In cannot be keyed faithfully by JSON: a struct with an
// unexported field (JSON would drop it, so inputs differing only there would
// share an entry), a func, a channel, a complex number or an unsafe pointer.
func defaultKeyFunc[In any](constructor string) func(In) string {
	if f, ok := any(identityKey).(func(In) string); ok {
		return f
	}
	if f, ok := any(strconv.Itoa).(func(In) string); ok {
		return f
	}
	t := reflect.TypeFor[In]()
	switch t.Kind() {
	case reflect.String:
		return func(in In) string { return reflect.ValueOf(in).String() }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(in In) string { return strconv.FormatInt(reflect.ValueOf(in).Int(), 10) }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(in In) string { return strconv.FormatUint(reflect.ValueOf(in).Uint(), 10) }
	case reflect.Bool:
		return func(in In) string { return strconv.FormatBool(reflect.ValueOf(in).Bool()) }
	case reflect.Float32, reflect.Float64:
		return func(in In) string {
			return strconv.FormatFloat(reflect.ValueOf(in).Float(), 'g', -1, t.Bits())
		}
	}
	if problem := jsonKeyProblem(t, map[reflect.Type]bool{}); problem != "" {
		panic(fmt.Sprintf("performance: %s: the default key cannot encode input type %s (%s); use CacheBy with a key function", constructor, t, problem))
	}
	return jsonKey[In]
}

func identityKey(s string) string { return s }

// jsonKey returns the hex SHA-256 of the JSON encoding of in. It panics
// when encoding fails (a NaN, a cyclic value behind an interface); the
// cache turns that panic into a *KeyError.
func jsonKey[In any](in In) string {
	// Through a pointer, so that MarshalJSON and MarshalText methods with
	// pointer receivers are called (on a value they are not, and the
	// value would be encoded field by field, unexported fields dropped).
	b, err := json.Marshal(&in)
	if err != nil {
		panic(fmt.Errorf("default key: %w", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// jsonKeyProblem reports why values of t would not be keyed faithfully by
// their JSON encoding, or "" when they would. Interfaces are accepted (their
// dynamic values are checked when encoded); types implementing
// json.Marshaler or encoding.TextMarshaler are trusted.
func jsonKeyProblem(t reflect.Type, seen map[reflect.Type]bool) string {
	if seen[t] {
		return ""
	}
	seen[t] = true
	if t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler) ||
		t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler) {
		return ""
	}
	switch t.Kind() {
	case reflect.Func, reflect.Chan, reflect.Complex64, reflect.Complex128, reflect.UnsafePointer:
		return "it holds a " + t.Kind().String()
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return jsonKeyProblem(t.Elem(), seen)
	case reflect.Map:
		if p := jsonKeyProblem(t.Key(), seen); p != "" {
			return p
		}
		return jsonKeyProblem(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Tag.Get("json") == "-" {
				continue // excluded from the key on purpose
			}
			if !f.IsExported() {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if !f.Anonymous || ft.Kind() != reflect.Struct {
					return fmt.Sprintf("field %s.%s is unexported", t.Name(), f.Name)
				}
			}
			if p := jsonKeyProblem(f.Type, seen); p != "" {
				return p
			}
		}
	}
	return ""
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[interface{ MarshalText() ([]byte, error) }]()
)
