package sandbox

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"cardfile/internal/gateway"
)

// maxTokenRequestBytes caps the POST /tokens body.
const maxTokenRequestBytes = 8 << 10

// Handler serves /fields and /tokens relative to the mount point, e.g.
// mux.Handle("/sandbox/", http.StripPrefix("/sandbox", g.Handler())).
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /fields", g.serveFields)
	mux.HandleFunc("POST /tokens", g.serveTokens)
	return mux
}

func (g *Gateway) serveFields(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", fieldsCSP+"; frame-ancestors "+strings.Join(g.frameAncestors, " "))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.Write(fieldsPage)
}

// errorBody is the JSON error shape of POST /tokens.
type errorBody struct {
	Error apiError `json:"error"`
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (g *Gateway) serveTokens(w http.ResponseWriter, r *http.Request) {
	var in CardInput
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxTokenRequestBytes))
	err := dec.Decode(&in)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("trailing data after JSON object")
	}
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{apiError{Code: "request_too_large", Message: "The request body is too large."}})
			return
		}
		writeJSON(w, http.StatusBadRequest, errorBody{apiError{Code: "invalid_request", Message: "The request body must be a JSON card object."}})
		return
	}

	res, err := g.Tokenize(r.Context(), in)
	if verr, ok := errors.AsType[*ValidationError](err); ok {
		writeJSON(w, http.StatusBadRequest, errorBody{apiError{Code: verr.Code, Message: verr.Message, Field: verr.Field}})
		return
	}
	if derr, ok := errors.AsType[*gateway.DeclineError](err); ok {
		writeJSON(w, http.StatusPaymentRequired, errorBody{apiError{Code: derr.Code, Message: derr.Message}})
		return
	}
	if err != nil {
		g.log.ErrorContext(r.Context(), "sandbox: tokenize failed", "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{apiError{Code: "processing_error", Message: "The card could not be processed. Try again."}})
		return
	}
	writeJSON(w, http.StatusCreated, res)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
