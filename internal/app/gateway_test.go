package app_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"cardfile/internal/app"
	"cardfile/internal/gateway/clearent"
	"cardfile/internal/viewer"
)

// CARDFILE_GATEWAY=clearent swaps the gateway, and the app follows: the
// hosted-fields URL the frontend loads comes from the gateway.
func TestClearentGatewayIsWiredIn(t *testing.T) {
	h := newHarness(t, func(o *app.Options) {
		o.Gateway = "clearent"
		o.Clearent = clearent.Config{BaseURL: "https://gateway-sb.clearent.net", APIKey: "test-api-key", PublicKey: "test-public-key"}
	})
	tn := h.newTenant("Blossom", 1)
	var out struct {
		CardGateway struct{ Name, HostedFieldsURL string }
	}
	h.gql(tn.tokens[viewer.Admin], `{ cardGateway { name hostedFieldsUrl } }`, nil).decode(t, &out)
	if out.CardGateway.Name != "clearent" || out.CardGateway.HostedFieldsURL != "http://cardfile.test/gateway/clearent/fields" {
		t.Fatalf("cardGateway = %+v", out.CardGateway)
	}
	rec := httptest.NewRecorder()
	h.app.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/gateway/clearent/fields", nil))
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, "clearent-host.js") || strings.Contains(body, "test-api-key") ||
		rec.Header().Get("X-Frame-Options") == "DENY" {
		t.Fatalf("fields page: HTTP %d, frame options %q", rec.Code, rec.Header().Get("X-Frame-Options"))
	}
	rec = httptest.NewRecorder()
	h.app.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/sandbox/fields", nil))
	if rec.Code == http.StatusOK {
		t.Fatal("the sandbox's pages are served while Clearent runs")
	}
}
