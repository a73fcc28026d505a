package auth

import (
	"context"
	"log/slog"

	"cardfile/ent"
	"cardfile/internal/apperr"
	"cardfile/internal/audit"
	"cardfile/internal/viewer"
)

// Authorize answers UNAUTHENTICATED, or FORBIDDEN (auditing the denial as
// e), unless the viewer may manage credit cards: add, change and delete
// cards, send card requests and take card payments. The ent privacy rules
// enforce the same underneath; this check exists to audit denials and to
// answer with a clear code before any work starts.
func Authorize(ctx context.Context, client *ent.Client, log *slog.Logger, e audit.Entry) error {
	v := viewer.FromContext(ctx)
	if v == nil {
		return apperr.New(apperr.Unauthenticated, "sign in to manage credit cards")
	}
	if !v.CanManageCards {
		audit.Denied(ctx, client, log, e)
		return apperr.New(apperr.Forbidden, "your role may not manage credit cards")
	}
	return nil
}
