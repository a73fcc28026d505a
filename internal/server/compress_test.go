package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"cardfile/ent/privacy"
	"cardfile/internal/server"
)

// GraphQL answers are encoded when the client accepts it, vary by
// Accept-Encoding, and are never stored by a cache.
func TestGraphQLAnswersAreCompressedAndNotStored(t *testing.T) {
	f := newFixture(t)
	token := f.login(t, f.staff(t))
	sys := privacy.DecisionContext(context.Background(), privacy.Allow)
	co := f.app.DB.Company.Query().OnlyX(sys)
	for i := 4; i <= 60; i++ {
		f.app.DB.Customer.Create().SetCompanyID(co.ID).SetCode(fmt.Sprintf("C%04d", i)).SetName(fmt.Sprintf("Customer %d", i)).SaveX(sys)
	}
	body, _ := json.Marshal(map[string]any{"query": "{ customers(first: 100) { totalCount edges { node { id code name } } } }"})
	for _, tc := range []struct{ accept, want string }{
		{"gzip", "gzip"},
		{"gzip, deflate, br, zstd", "zstd"},
		{"", ""},
	} {
		t.Run("Accept-Encoding="+tc.accept, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			if tc.accept != "" {
				req.Header.Set("Accept-Encoding", tc.accept)
			}
			rec := f.serve(req)
			h := rec.Header()
			if rec.Code != http.StatusOK || h.Get("Content-Encoding") != tc.want {
				t.Fatalf("HTTP %d Content-Encoding %q, want %q", rec.Code, h.Get("Content-Encoding"), tc.want)
			}
			if !strings.Contains(h.Get("Vary"), "Accept-Encoding") || h.Get("Cache-Control") != "no-store" {
				t.Errorf("Vary %q Cache-Control %q", h.Get("Vary"), h.Get("Cache-Control"))
			}
			wire := rec.Body.Len()
			var out struct {
				Data struct{ Customers struct{ TotalCount int } }
			}
			raw := server.Decoded(t, h.Get("Content-Encoding"), rec.Body)
			if err := json.Unmarshal(raw, &out); err != nil || out.Data.Customers.TotalCount != 60 {
				t.Fatalf("decoded answer (%v): %.200s", err, raw)
			}
			t.Logf("%d bytes on the wire for %d of JSON", wire, len(raw))
		})
	}
}

// A browser's upgrade request accepts gzip and zstd too: the handshake and
// the frames after it pass untouched.
func TestWebsocketUpgradesThroughCompression(t *testing.T) {
	f := newFixture(t)
	token := f.login(t, f.staff(t))
	conn, resp, err := dialWS(serveWS(t, f), staffOrigin, http.Header{"Accept-Encoding": {"gzip, deflate, br, zstd"}})
	if err != nil {
		t.Fatalf("dialing: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("upgrade HTTP %d Content-Encoding %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	c := newWSClient(t, conn).read()
	c.init(map[string]any{"Authorization": "Bearer " + token})
	if m := c.expect(); m.Type != "connection_ack" {
		t.Fatalf("got %s %s, want connection_ack", m.Type, m.Payload)
	}
}
