package primitives

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"

	"github.com/ttadev/primitives/observability"
)

// Conditional returns a primitive that runs then when cond reports true
// and otherwise runs the optional else primitive; with no else the input
// passes through unchanged. It panics at construction when cond or then is
// nil, when the else primitive is nil, or when more than one else is given.
// The context is checked before cond runs and again before the chosen
// primitive starts. Use [IfElse] when the branches change the type.
//
// Invariants (docs/architecture.md): all hold, as for [Router].
func Conditional[T any](cond func(context.Context, T) bool, then Primitive[T, T], otherwise ...Primitive[T, T]) Primitive[T, T] {
	mustFunc("Conditional", cond)
	mustPrimitive("Conditional", "then primitive", then)
	var alt Primitive[T, T] = Identity[T]()
	switch len(otherwise) {
	case 0:
	case 1:
		mustPrimitive("Conditional", "else primitive", otherwise[0])
		alt = otherwise[0]
	default:
		panic(fmt.Sprintf("primitives: Conditional: at most one else primitive, got %d", len(otherwise)))
	}
	return &conditional[T, T]{cond: cond, then: then, otherwise: alt}
}

// IfElse is Conditional for branches that change the type; both branches
// are required.
func IfElse[In, Out any](cond func(context.Context, In) bool, then, otherwise Primitive[In, Out]) Primitive[In, Out] {
	mustFunc("IfElse", cond)
	mustPrimitive("IfElse", "then primitive", then)
	mustPrimitive("IfElse", "else primitive", otherwise)
	return &conditional[In, Out]{cond: cond, then: then, otherwise: otherwise}
}

type conditional[In, Out any] struct {
	cond      func(context.Context, In) bool
	then      Primitive[In, Out]
	otherwise Primitive[In, Out]
}

func (c *conditional[In, Out]) Execute(ctx context.Context, in In) (Out, error) {
	if err := cause(ctx); err != nil {
		var zero Out
		return zero, err
	}
	next := c.otherwise
	if c.cond(ctx, in) {
		next = c.then
	}
	if err := cause(ctx); err != nil { // the condition may have taken a while
		var zero Out
		return zero, err
	}
	return next.Execute(ctx, in)
}

// RoutingHistoryKey is the WorkflowContext state key under which [Router]
// appends each decision (a []RouteDecision).
const RoutingHistoryKey = "routing_history"

// RouteDecision records one choice made by a Router.
type RouteDecision struct {
	Key       string
	UsedRoute string // the key, or "default"
}

// Router returns a primitive that asks selector for a key and runs the
// route registered under it, or the optional default route when the key
// is unknown. An unknown key with no default is an *UnknownRouteError that
// names the key and the known routes. A selector error is returned as is.
// Each decision is appended to the WorkflowContext state under
// [RoutingHistoryKey] when the context carries one, and is a span
// ("router", with the key) when tracing is installed. The context is
// checked before the selector runs and again before the route starts.
//
// It panics at construction when selector is nil, routes is empty, a route
// is nil, or more than one default is given. The routes map is copied.
//
// Invariants (docs/architecture.md): all hold. The context is checked
// before the selector and before the chosen route; errors pass unchanged;
// a panic of the selector or the route goes on to the caller; the routing
// history is replaced, never changed in place, so child contexts never
// share it.
func Router[In, Out any, K comparable](selector func(context.Context, In) (K, error), routes map[K]Primitive[In, Out], defaultRoute ...Primitive[In, Out]) Primitive[In, Out] {
	mustFunc("Router", selector)
	if len(routes) == 0 {
		panic("primitives: Router: no routes")
	}
	cp := make(map[K]Primitive[In, Out], len(routes))
	for k, p := range routes {
		if IsNil(p) {
			panic(fmt.Sprintf("primitives: Router: route %v is nil", k))
		}
		cp[k] = p
	}
	r := &router[In, Out, K]{selector: selector, routes: cp, known: sortedKeys(cp)}
	switch len(defaultRoute) {
	case 0:
	case 1:
		mustPrimitive("Router", "default route", defaultRoute[0])
		r.def = defaultRoute[0]
	default:
		panic(fmt.Sprintf("primitives: Router: at most one default route, got %d", len(defaultRoute)))
	}
	return r
}

// Switch is Router with a selector that cannot fail.
func Switch[In, Out any, K comparable](selector func(In) K, routes map[K]Primitive[In, Out], defaultRoute ...Primitive[In, Out]) Primitive[In, Out] {
	mustFunc("Switch", selector)
	return Router(func(_ context.Context, in In) (K, error) { return selector(in), nil }, routes, defaultRoute...)
}

type router[In, Out any, K comparable] struct {
	selector func(context.Context, In) (K, error)
	routes   map[K]Primitive[In, Out]
	def      Primitive[In, Out]
	known    []string
}

func (r *router[In, Out, K]) Execute(ctx context.Context, in In) (Out, error) {
	var zero Out
	if err := cause(ctx); err != nil {
		return zero, err
	}
	key, err := r.selector(ctx, in)
	if err != nil {
		return zero, err
	}
	if err := cause(ctx); err != nil { // the selector may have taken a while
		return zero, err
	}
	p, ok := r.routes[key]
	used := ""
	if !ok {
		if r.def == nil {
			return zero, &UnknownRouteError{Key: fmt.Sprint(key), Known: r.known}
		}
		p, used = r.def, "default"
	}
	if wf := WorkflowFrom(ctx); wf != nil {
		k := fmt.Sprint(key)
		if used == "" {
			used = k
		}
		wf.Update(RoutingHistoryKey, func(old any, _ bool) any {
			h, _ := old.([]RouteDecision)
			// A new array every time: child contexts copy the state
			// shallowly, so the old slice may be shared with siblings.
			return append(h[:len(h):len(h)], RouteDecision{Key: k, UsedRoute: used})
		})
	}
	ctx, span := observability.Providers{}.StartSpan(ctx, observability.SpanRouter)
	if span != nil {
		span.SetAttributes(attribute.String(observability.AttrRouteKey, fmt.Sprint(key)))
	}
	out, err := p.Execute(ctx, in)
	observability.End(span, err)
	return out, err
}

func (*conditional[In, Out]) checksContext() {}

func (*router[In, Out, K]) checksContext() {}
