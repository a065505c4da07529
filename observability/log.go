package observability

import (
	"context"
	"log/slog"
)

// Log writes one record through logger with the correlation id and the
// workflow id of ctx added, so every record of this module carries them
// whatever handler the application installed. It costs nothing when the
// logger does not log at level.
func Log(ctx context.Context, logger *slog.Logger, level slog.Level, msg string, attrs ...slog.Attr) {
	if logger == nil || !logger.Enabled(ctx, level) {
		return
	}
	if c := CorrelatedFrom(ctx); c != nil {
		attrs = append(attrs, slog.String(AttrCorrelationID, c.CorrelationID()))
		if w := c.WorkflowID(); w != "" {
			attrs = append(attrs, slog.String(AttrWorkflowID, w))
		}
	}
	logger.LogAttrs(ctx, level, msg, attrs...)
}

// NewLogHandler wraps next so that every record logged with a context that
// carries a workflow gets its correlation_id (and workflow_id) attributes.
// Install it for the application's own logs:
//
//	slog.SetDefault(slog.New(observability.NewLogHandler(slog.NewJSONHandler(os.Stderr, nil))))
//
// Records that already have a correlation_id attribute are not given a
// second one.
func NewLogHandler(next slog.Handler) slog.Handler {
	return &logHandler{next: next}
}

type logHandler struct {
	next slog.Handler
}

func (h *logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	if c := CorrelatedFrom(ctx); c != nil {
		has := false
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == AttrCorrelationID {
				has = true
				return false
			}
			return true
		})
		if !has {
			r = r.Clone()
			r.AddAttrs(slog.String(AttrCorrelationID, c.CorrelationID()))
			if w := c.WorkflowID(); w != "" {
				r.AddAttrs(slog.String(AttrWorkflowID, w))
			}
		}
	}
	return h.next.Handle(ctx, r)
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logHandler{next: h.next.WithAttrs(attrs)}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{next: h.next.WithGroup(name)}
}
