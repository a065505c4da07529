package primitivetest

import (
	"context"

	"github.com/ttadev/primitives/observability"
)

func correlationID(ctx context.Context) string {
	return observability.CorrelationID(ctx)
}
