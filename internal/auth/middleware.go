package auth

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"cardfile/internal/apperr"
	"cardfile/internal/viewer"
)

// Middleware resolves the request's bearer token into the viewer and company
// and records the caller's IP. A rejected token leaves the request anonymous
// but marked expired (ExpiredFromContext), so resolvers can say so.
func Middleware(s *Service, log *slog.Logger) func(http.Handler) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ip := clientIP(r, s.cfg.TrustProxy)
			ctx := viewer.WithOrigin(r.Context(), ip)
			if token, ok := BearerToken(r.Header.Get("Authorization")); ok {
				var err error
				ctx, err = s.Attach(ctx, token)
				switch {
				case err == nil:
				case apperr.CodeOf(err) == apperr.Unauthenticated:
					log.DebugContext(ctx, "session token rejected", "origin", ip, "err", err)
				case apperr.CodeOf(err) == apperr.ServiceUnavailable:
					// Not the caller's fault: answering "sign in" would be a lie.
					log.WarnContext(ctx, "authenticating request: database unavailable", "origin", ip, "err", err)
					apperr.WriteHTTP(w, http.StatusServiceUnavailable, apperr.Wrap(err, apperr.ServiceUnavailable, apperr.MsgUnavailable))
					return
				default:
					log.ErrorContext(ctx, "authenticating request", "origin", ip, "err", err)
					apperr.WriteHTTP(w, http.StatusInternalServerError, apperr.New(apperr.Internal, "internal error"))
					return
				}
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// BearerToken extracts the token from an "Authorization: Bearer <token>" header value.
func BearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// clientIP is the host part of RemoteAddr or, with trustProxy, the last
// X-Forwarded-For entry: the one our proxy appended. Earlier entries are
// whatever the client sent and prove nothing.
func clientIP(r *http.Request, trustProxy bool) string {
	if trustProxy {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if addr, err := netip.ParseAddr(strings.TrimSpace(parts[len(parts)-1])); err == nil {
				return addr.Unmap().String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
