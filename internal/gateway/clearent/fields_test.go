package clearent

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// mount serves g the way the app does, under /gateway/clearent/.
func mount(t *testing.T, g *Gateway) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/gateway/clearent/", http.StripPrefix("/gateway/clearent", g.Handler()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func fetch(t *testing.T, srv *httptest.Server, method, path string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

func TestFieldsPage(t *testing.T) {
	tests := []struct {
		name           string
		cfg            Config
		wantOrigin     string
		wantAncestors  string
		wantSDKURL     string
		wantPublicKey  string
		forbiddenTexts []string
	}{
		{
			name:          "sandbox defaults",
			cfg:           Config{APIKey: testAPIKey, PublicKey: testPublicKey, PublicURL: "https://cardfile.test"},
			wantOrigin:    "https://gateway-sb.clearent.net",
			wantAncestors: "frame-ancestors 'self'",
			wantSDKURL:    `<script src="https://gateway-sb.clearent.net/js-sdk/js/clearent-host.js"></script>`,
			wantPublicKey: `data-public-key="` + testPublicKey + `"`,
		},
		{
			name: "production gateway, app origin allowed to embed",
			cfg: Config{BaseURL: "https://gateway.clearent.net/", APIKey: testAPIKey, PublicKey: testPublicKey,
				PublicURL: "https://cards.example.com", FrameAncestors: []string{"https://app.example.com"}},
			wantOrigin:    "https://gateway.clearent.net",
			wantAncestors: "frame-ancestors https://app.example.com",
			wantSDKURL:    `<script src="https://gateway.clearent.net/js-sdk/js/clearent-host.js"></script>`,
			wantPublicKey: `data-public-key="` + testPublicKey + `"`,
		},
		{
			name:           "public key is escaped",
			cfg:            Config{APIKey: testAPIKey, PublicKey: `pk"><script>alert(1)</script>`, PublicURL: "https://cardfile.test"},
			wantOrigin:     "https://gateway-sb.clearent.net",
			wantAncestors:  "frame-ancestors 'self'",
			wantSDKURL:     `<script src="https://gateway-sb.clearent.net/js-sdk/js/clearent-host.js"></script>`,
			wantPublicKey:  `data-public-key="pk&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`,
			forbiddenTexts: []string{`"><script>alert(1)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			srv := mount(t, g)
			path := strings.TrimPrefix(g.HostedFieldsURL(), strings.TrimRight(tt.cfg.PublicURL, "/"))
			resp, body := fetch(t, srv, http.MethodGet, path+"?origin=https://app.example.com")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			scripts := inlineScript.FindAllStringSubmatch(body, -1)
			if len(scripts) != 1 {
				t.Fatalf("found %d inline scripts, want 1", len(scripts))
			}
			for _, want := range []string{
				"default-src 'none'",
				"script-src " + cspHash(scripts[0][1]) + " " + tt.wantOrigin,
				"frame-src " + tt.wantOrigin,
				"connect-src " + tt.wantOrigin,
				"form-action 'none'",
				tt.wantAncestors,
			} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "'unsafe-eval'") || strings.Contains(csp, "script-src *") {
				t.Errorf("CSP too loose: %q", csp)
			}
			for _, want := range []string{
				tt.wantSDKURL, tt.wantPublicKey, `data-base-url="` + tt.wantOrigin + `"`, `id="payment-form"`,
				"ClearentSDK.getPaymentToken()", "cardfile:tokenize", "cardfile:token", "cardfile:error",
				"cardfile:ready", "cardfile:resize",
			} {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			for _, bad := range append([]string{testAPIKey, "api-key"}, tt.forbiddenTexts...) {
				if strings.Contains(body, bad) {
					t.Errorf("page contains %q", bad)
				}
			}
			for h, want := range map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
				if got := resp.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
		})
	}
}

func TestFieldsPageOnlyAnswersGet(t *testing.T) {
	g, err := New(Config{APIKey: testAPIKey, PublicKey: testPublicKey, PublicURL: "https://cardfile.test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := mount(t, g)
	if resp, _ := fetch(t, srv, http.MethodPost, "/gateway/clearent/fields"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST status %d, want 405", resp.StatusCode)
	}
	if resp, _ := fetch(t, srv, http.MethodGet, "/gateway/clearent/tokens"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown path status %d, want 404", resp.StatusCode)
	}
}
