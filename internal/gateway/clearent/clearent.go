package clearent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"cardfile/internal/gateway"
)

// DefaultBaseURL is Clearent's sandbox gateway; production is
// https://gateway.clearent.net.
const DefaultBaseURL = "https://gateway-sb.clearent.net"

// defaultTimeout bounds one gateway call when Config.HTTPClient is nil.
const defaultTimeout = 15 * time.Second

// Config configures a Gateway. APIKey, PublicKey and PublicURL are required.
type Config struct {
	// BaseURL is the Clearent gateway origin (default DefaultBaseURL). It
	// serves both the REST API and the JavaScript SDK. It must be https
	// (plain http is accepted only for loopback hosts, i.e. tests).
	BaseURL string
	// APIKey is the secret api-key header value; it never leaves the server.
	APIKey string
	// PublicKey is the JS SDK's public key ("pk"); it is embedded in the card fields page.
	PublicKey string
	// PublicURL is cardfile's own external base URL; the fields page is served under it.
	PublicURL string
	// SoftwareType identifies cardfile to Clearent (default "cardfile").
	SoftwareType string
	// SoftwareTypeVersion accompanies SoftwareType (default "1"); the mobile
	// endpoint requires it.
	SoftwareTypeVersion string
	// FrameAncestors are the CSP frame-ancestors sources allowed to embed the
	// fields page (default 'self').
	FrameAncestors []string
	// HTTPClient makes the API calls (default: a client with a 15 s timeout).
	// Redirects are never followed, whatever the client says.
	HTTPClient *http.Client
	// Log receives one line per gateway call (default slog.Default()).
	Log *slog.Logger
}

// Gateway is the Clearent gateway; it implements gateway.Gateway.
type Gateway struct {
	baseURL        string
	sdkOrigin      string
	apiKey         string
	publicKey      string
	publicURL      string
	softwareType   string
	softwareVer    string
	frameAncestors []string
	client         *http.Client
	log            *slog.Logger
	now            func() time.Time
	page           []byte
	csp            string
}

var _ gateway.Gateway = (*Gateway)(nil)

// New validates cfg and returns a Clearent gateway.
func New(cfg Config) (*Gateway, error) {
	g := &Gateway{
		apiKey:       cfg.APIKey,
		publicKey:    strings.TrimSpace(cfg.PublicKey),
		softwareType: strings.TrimSpace(cfg.SoftwareType),
		softwareVer:  strings.TrimSpace(cfg.SoftwareTypeVersion),
		log:          cfg.Log,
		now:          time.Now,
	}
	if g.softwareType == "" {
		g.softwareType = "cardfile"
	}
	if g.softwareVer == "" {
		g.softwareVer = "1"
	}
	if g.log == nil {
		g.log = slog.Default()
	}

	base := strings.TrimSpace(cfg.BaseURL)
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := parseBaseURL(base)
	if err != nil {
		return nil, fmt.Errorf("clearent: base URL: %w", err)
	}
	g.sdkOrigin = u.Scheme + "://" + u.Host
	g.baseURL = strings.TrimRight(u.String(), "/")

	pub, err := url.Parse(strings.TrimSpace(cfg.PublicURL))
	if err != nil || (pub.Scheme != "https" && pub.Scheme != "http") || pub.Host == "" || pub.RawQuery != "" || pub.Fragment != "" {
		return nil, errors.New("clearent: public URL must be an absolute http(s) URL without query or fragment")
	}
	g.publicURL = strings.TrimRight(pub.String(), "/")

	switch {
	case cfg.APIKey == "":
		return nil, errors.New("clearent: API key is required")
	case !headerSafe(cfg.APIKey):
		return nil, errors.New("clearent: API key contains invalid characters")
	case g.publicKey == "":
		return nil, errors.New("clearent: public key is required")
	case !headerSafe(g.publicKey):
		return nil, errors.New("clearent: public key contains invalid characters")
	case !headerSafe(g.softwareType) || !headerSafe(g.softwareVer):
		return nil, errors.New("clearent: software type contains invalid characters")
	}

	g.frameAncestors = append([]string(nil), cfg.FrameAncestors...)
	if len(g.frameAncestors) == 0 {
		g.frameAncestors = []string{"'self'"}
	}
	for _, s := range g.frameAncestors {
		if s == "" || strings.ContainsAny(s, " \t\r\n;,") {
			return nil, fmt.Errorf("clearent: invalid frame ancestor %q", s)
		}
	}

	// A copy, so that disabling redirects does not touch the caller's client.
	// Redirects must not be followed: net/http forwards custom headers such
	// as api-key and mobilejwt to the redirect target, and a 30x to a POST
	// would silently turn into a GET.
	client := &http.Client{Timeout: defaultTimeout}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		client = &c
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	g.client = client

	if err := g.renderPage(); err != nil {
		return nil, err
	}
	return g, nil
}

// parseBaseURL accepts https URLs, and http ones only for loopback hosts.
func parseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("must be an absolute URL without credentials, query or fragment")
	}
	switch u.Scheme {
	case "https":
	case "http":
		host := u.Hostname()
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, errors.New("must use https")
		}
	default:
		return nil, errors.New("must use https")
	}
	return u, nil
}

// headerSafe reports whether s can be sent as an HTTP header value as is.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// Name returns "clearent".
func (g *Gateway) Name() string { return "clearent" }

// HostedFieldsURL returns the URL of the card fields page, served by Handler
// mounted under /gateway/clearent/.
func (g *Gateway) HostedFieldsURL() string { return g.publicURL + "/gateway/clearent/fields" }

func (g *Gateway) renderPage() error {
	var buf bytes.Buffer
	err := fieldsTemplate.Execute(&buf, map[string]any{
		"SDKURL":    g.baseURL + sdkPath,
		"BaseURL":   g.baseURL,
		"PublicKey": g.publicKey,
		"Style":     template.HTML("<style>" + fieldsStyle + "</style>"),
		"Script":    template.HTML("<script>" + fieldsScript + "</script>"),
	})
	if err != nil {
		return fmt.Errorf("clearent: render fields page: %w", err)
	}
	g.page = buf.Bytes()
	g.csp = "default-src 'none'" +
		"; script-src " + cspHash(fieldsScript) + " " + g.sdkOrigin +
		"; frame-src " + g.sdkOrigin +
		"; connect-src " + g.sdkOrigin +
		"; img-src " + g.sdkOrigin + " data:" +
		"; style-src 'unsafe-inline' " + g.sdkOrigin +
		"; font-src " + g.sdkOrigin +
		"; form-action 'none'; base-uri 'none'" +
		"; frame-ancestors " + strings.Join(g.frameAncestors, " ")
	return nil
}

// SaveCard exchanges the JS SDK's single-use mobilejwt for a durable Clearent
// card token with a $0.00 AUTH and create-token, which vaults the card
// without charging it.
func (g *Gateway) SaveCard(ctx context.Context, mobileJWT string) (gateway.Card, error) {
	const op = "save card"
	if err := g.checkMobileJWT(mobileJWT); err != nil {
		return gateway.Card{}, fmt.Errorf("clearent: %s: %w", op, err)
	}
	body := map[string]string{
		"type":                  "AUTH",
		"amount":                "0.00",
		"create-token":          "true",
		"software-type":         g.softwareType,
		"software-type-version": g.softwareVer,
	}
	res, err := g.call(ctx, op, http.MethodPost, "/rest/v2/mobile/transactions/sale", body, map[string]string{"mobilejwt": mobileJWT})
	if err != nil {
		// Even when the request went out, retrying with the same mobilejwt is
		// harmless: the token is single use, so at worst Clearent refuses it.
		return gateway.Card{}, fmt.Errorf("clearent: %s: %w: %w", op, gateway.ErrUnavailable, err)
	}

	switch {
	case res.status == http.StatusPaymentRequired:
		return gateway.Card{}, res.decline()
	case res.status == http.StatusBadRequest && res.mentionsJWT():
		return gateway.Card{}, fmt.Errorf("clearent: %s: %w (%s)", op, gateway.ErrInvalidToken, res.describe())
	case res.status < 200 || res.status > 299:
		return gateway.Card{}, fmt.Errorf("clearent: %s: %w: %s", op, gateway.ErrUnavailable, res.describe())
	case !res.parsed:
		return gateway.Card{}, fmt.Errorf("clearent: %s: %w: unreadable response (%s)", op, gateway.ErrUnavailable, res.describe())
	case res.refused():
		return gateway.Card{}, res.decline()
	}

	card, ok := res.card()
	if card.Token == "" {
		return gateway.Card{}, fmt.Errorf("clearent: %s: %w: the response carried no card token (%s)", op, gateway.ErrUnavailable, res.describe())
	}
	if !ok {
		// A token we cannot describe (no expiry) could never be charged;
		// remove it rather than leave it orphaned in the vault.
		g.discard(ctx, card.Token)
		return gateway.Card{}, fmt.Errorf("clearent: %s: %w: the response did not describe the card (%s)", op, gateway.ErrUnavailable, res.describe())
	}
	return card, nil
}

// discard deletes a token we will not keep, on a context of its own so that
// a cancelled caller does not leave it behind; failures are only logged.
func (g *Gateway) discard(ctx context.Context, token string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := g.DeleteCard(ctx, token); err != nil {
		g.log.WarnContext(ctx, "clearent: could not discard an incomplete card token", "err", err)
	}
}

// DeleteCard deletes a stored card token; an unknown token (404) counts as deleted.
func (g *Gateway) DeleteCard(ctx context.Context, cardToken string) error {
	const op = "delete card"
	if cardToken == "" {
		return nil
	}
	res, err := g.call(ctx, op, http.MethodDelete, "/rest/v2/tokens/"+url.PathEscape(cardToken), nil, nil)
	if err != nil {
		return fmt.Errorf("clearent: %s: %w: %w", op, gateway.ErrUnavailable, err)
	}
	if (res.status >= 200 && res.status <= 299) || res.status == http.StatusNotFound {
		return nil
	}
	return fmt.Errorf("clearent: %s: %w: %s", op, gateway.ErrUnavailable, res.describe())
}

// Charge runs a SALE on a stored card token.
//
// Clearent has no per-request idempotency key, so req.IdempotencyKey is sent
// as order-id: after ErrOutcomeUnknown the charge can be looked up in
// Clearent's transaction search by that order-id. Preventing a second charge
// is the payments layer's job.
func (g *Gateway) Charge(ctx context.Context, req gateway.ChargeRequest) (gateway.ChargeResult, error) {
	const op = "charge"
	if req.AmountCents <= 0 || (req.Currency != "" && req.Currency != "USD") {
		return gateway.ChargeResult{}, &gateway.DeclineError{Code: "invalid_amount", Message: "Invalid amount"}
	}
	if req.CardToken == "" {
		return gateway.ChargeResult{}, fmt.Errorf("clearent: %s: %w: no card token", op, gateway.ErrUnavailable)
	}
	exp, ok := expDate(req.ExpMonth, req.ExpYear)
	if !ok {
		return gateway.ChargeResult{}, fmt.Errorf("clearent: %s: %w: invalid card expiry", op, gateway.ErrUnavailable)
	}
	body := map[string]string{
		"type":                  "SALE",
		"amount":                formatAmount(req.AmountCents),
		"card":                  req.CardToken,
		"exp-date":              exp,
		"software-type":         g.softwareType,
		"software-type-version": g.softwareVer,
	}
	if ref := clip(req.Reference, maxReferenceLen); ref != "" {
		body["invoice"] = ref
		body["order-id"] = ref
	}
	if key := orderID(req.IdempotencyKey); key != "" {
		body["order-id"] = key
	}

	res, err := g.call(ctx, op, http.MethodPost, "/rest/v2/transactions/sale", body, nil)
	if err != nil {
		if sent, ok := errors.AsType[*transportError](err); ok && sent.written {
			return gateway.ChargeResult{}, fmt.Errorf("clearent: %s: %w: %w", op, gateway.ErrOutcomeUnknown, err)
		}
		return gateway.ChargeResult{}, fmt.Errorf("clearent: %s: %w: %w", op, gateway.ErrUnavailable, err)
	}

	switch {
	case res.status == http.StatusPaymentRequired:
		return gateway.ChargeResult{}, res.decline()
	case res.status == http.StatusBadGateway || res.status == http.StatusGatewayTimeout:
		// A proxy in front of the gateway gave up waiting for it: the sale
		// may have been processed behind it.
		return gateway.ChargeResult{}, fmt.Errorf("clearent: %s: %w: %s", op, gateway.ErrOutcomeUnknown, res.describe())
	case res.status < 200 || res.status > 299:
		return gateway.ChargeResult{}, fmt.Errorf("clearent: %s: %w: %s", op, gateway.ErrUnavailable, res.describe())
	case !res.parsed || res.env.Payload.Transaction == nil:
		// The gateway accepted the sale but we cannot read its answer.
		return gateway.ChargeResult{}, fmt.Errorf("clearent: %s: %w: unreadable response (%s)", op, gateway.ErrOutcomeUnknown, res.describe())
	case res.refused():
		return gateway.ChargeResult{}, res.decline()
	}
	txn := res.env.Payload.Transaction
	if txn.ID == "" {
		return gateway.ChargeResult{}, fmt.Errorf("clearent: %s: %w: approval without a transaction id (%s)", op, gateway.ErrOutcomeUnknown, res.describe())
	}
	return gateway.ChargeResult{TransactionID: string(txn.ID), AuthCode: string(txn.AuthorizationCode)}, nil
}

// LookupCharge finds the sale Charge sent for req, by the order-id it
// carried (the idempotency key), through Clearent's transaction search (GET
// /rest/v2/transactions?order-id=…&type=SALE). Only a sale whose order-id
// and amount both match counts, whatever else the search answers: an
// approved one is the charge; otherwise a declined one is its decline; none
// is ErrNotCharged. A 404 is no answer (a wrong route says 404 too).
func (g *Gateway) LookupCharge(ctx context.Context, req gateway.ChargeRequest) (gateway.ChargeResult, error) {
	const op = "lookup charge"
	key := orderID(req.IdempotencyKey)
	if key == "" {
		return gateway.ChargeResult{}, fmt.Errorf("clearent: %s: %w: no order id", op, gateway.ErrNotCharged)
	}
	q := url.Values{"order-id": {key}, "type": {"SALE"}}
	res, err := g.call(ctx, op, http.MethodGet, "/rest/v2/transactions?"+q.Encode(), nil, nil)
	if err != nil {
		return gateway.ChargeResult{}, fmt.Errorf("clearent: %s: %w: %w", op, gateway.ErrUnavailable, err)
	}
	switch {
	case res.status == http.StatusNoContent:
		return gateway.ChargeResult{}, fmt.Errorf("clearent: %s: %w", op, gateway.ErrNotCharged)
	case res.status != http.StatusOK || !res.parsed:
		return gateway.ChargeResult{}, fmt.Errorf("clearent: %s: %w: %s", op, gateway.ErrUnavailable, res.describe())
	}
	found := res.env.Payload.Transactions
	if t := res.env.Payload.Transaction; t != nil {
		found = append(found, *t)
	}
	amount := formatAmount(req.AmountCents)
	var declined *transaction
	for i := range found {
		t := &found[i]
		if string(t.OrderID) != key || string(t.Amount) != amount || (t.Type != "" && !strings.EqualFold(string(t.Type), "SALE")) {
			continue
		}
		if strings.EqualFold(string(t.Result), "APPROVED") && t.ID != "" {
			return gateway.ChargeResult{TransactionID: string(t.ID), AuthCode: string(t.AuthorizationCode)}, nil
		}
		if declined == nil {
			declined = t
		}
	}
	if declined != nil {
		return gateway.ChargeResult{}, (&response{env: envelope{Payload: payload{Transaction: declined}}}).decline()
	}
	return gateway.ChargeResult{}, fmt.Errorf("clearent: %s: %w", op, gateway.ErrNotCharged)
}

// orderID is the order-id a charge carries: the idempotency key, or when
// that exceeds Clearent's 100 characters its SHA-256 (cutting it would let
// two keys share an order-id).
func orderID(idempotencyKey string) string {
	if len(idempotencyKey) <= maxReferenceLen {
		return idempotencyKey
	}
	sum := sha256.Sum256([]byte(idempotencyKey))
	return "sha256:" + hex.EncodeToString(sum[:])
}
