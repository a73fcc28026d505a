package clearent

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"cardfile/internal/gateway"
)

const (
	// maxResponseBytes caps how much of a gateway answer is read.
	maxResponseBytes = 1 << 20
	// maxJWTLen caps the mobilejwt we are willing to forward as a header.
	maxJWTLen = 8 << 10
	// maxReferenceLen is Clearent's documented limit for invoice (VarChar 100).
	maxReferenceLen = 100
	// maxMessageLen caps a decline message shown to staff.
	maxMessageLen = 200
)

// envelope is Clearent's response object: code, status ("success"/"fail"),
// exchange-id, links and a payload holding a transaction, a token or an error.
type envelope struct {
	Code       flexString `json:"code"`
	Status     flexString `json:"status"`
	ExchangeID flexString `json:"exchange-id"`
	Links      linkList   `json:"links"`
	Payload    payload    `json:"payload"`
}

type link struct {
	Rel  flexString `json:"rel"`
	Href flexString `json:"href"`
	ID   flexString `json:"id"`
}

type payload struct {
	PayloadType   flexString      `json:"payloadType"`
	Transaction   *transaction    `json:"transaction"`
	Transactions  transactionList `json:"transactions"`
	TokenResponse *tokenResponse  `json:"tokenResponse"`
	Error         *apiError       `json:"error"`
}

// transaction holds the fields of Clearent's transaction object we use. The
// object can also echo the csc, which is one reason bodies are never logged.
type transaction struct {
	ID                flexString `json:"id"`
	Type              flexString `json:"type"`
	Result            flexString `json:"result"`
	ResultCode        flexString `json:"result-code"`
	DisplayMessage    flexString `json:"display-message"`
	AuthorizationCode flexString `json:"authorization-code"`
	OrderID           flexString `json:"order-id"`
	Amount            flexString `json:"amount"`
	Card              flexString `json:"card"` // masked, e.g. XXXXXXXXXXXX1111
	CardType          flexString `json:"card-type"`
	LastFour          flexString `json:"last-four"`
	ExpDate           flexString `json:"exp-date"`
	Billing           *billing   `json:"billing"`
}

type billing struct {
	FirstName flexString `json:"first-name"`
	LastName  flexString `json:"last-name"`
	Zip       flexString `json:"zip"`
}

type tokenResponse struct {
	TokenID           flexString `json:"token-id"`
	CardType          flexString `json:"card-type"`
	LastFourDigits    flexString `json:"last-four-digits"`
	ExpDate           flexString `json:"exp-date"`
	CustomerFirstName flexString `json:"customer-first-name"`
	CustomerLastName  flexString `json:"customer-last-name"`
	AVSZip            flexString `json:"avs-zip"`
}

type apiError struct {
	ErrorMessage flexString `json:"error-message"`
	ResultCode   flexString `json:"result-code"`
}

// flexString accepts a JSON string, number or boolean (Clearent's examples
// use both "200" and 200) and ignores objects and arrays.
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || b[0] == 'n' || b[0] == '{' || b[0] == '[':
		*s = ""
	case b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(strings.TrimSpace(v))
	default:
		*s = flexString(b)
	}
	return nil
}

// transactionList is a transaction search's answer: an array of
// transactions, one transaction object, or either under a "transaction" key
// (Clearent documents the search's fields, not the list's wrapping).
type transactionList []transaction

func (l *transactionList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || b[0] == 'n':
		*l = nil
		return nil
	case b[0] == '[':
		var ts []transaction
		if err := json.Unmarshal(b, &ts); err != nil {
			return err
		}
		*l = ts
		return nil
	case b[0] != '{':
		return nil
	}
	var wrapped struct {
		Transaction json.RawMessage `json:"transaction"`
	}
	if err := json.Unmarshal(b, &wrapped); err == nil && len(wrapped.Transaction) > 0 {
		return l.UnmarshalJSON(wrapped.Transaction)
	}
	var t transaction
	if err := json.Unmarshal(b, &t); err != nil {
		return err
	}
	*l = transactionList{t}
	return nil
}

// linkList accepts an array of links or a single link object.
type linkList []link

func (l *linkList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || b[0] == 'n':
		*l = nil
	case b[0] == '[':
		var v []link
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*l = v
	case b[0] == '{':
		var v link
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*l = linkList{v}
	}
	return nil
}

// transportError is a call that got no HTTP answer. written tells whether the
// whole request had been sent, i.e. whether the gateway may have acted on it.
type transportError struct {
	written bool
	err     error
}

func (e *transportError) Error() string {
	if e.written {
		return "no answer after the request was sent: " + e.err.Error()
	}
	return "request not sent: " + e.err.Error()
}

func (e *transportError) Unwrap() error { return e.err }

// response is an HTTP answer from the gateway. The raw body is not kept.
type response struct {
	status int
	env    envelope
	parsed bool
}

// call sends one request and decodes the answer. Headers use the lower-case
// names of Clearent's documentation. Only non-secret facts are logged: the
// operation, HTTP status, exchange-id and result codes.
func (g *Gateway) call(ctx context.Context, op, method, path string, body any, headers map[string]string) (*response, error) {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return nil, &transportError{err: errors.New("cannot encode the request")}
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, g.baseURL+path, bytes.NewReader(raw))
	if err != nil {
		// The error would quote the URL, which can hold a card token.
		return nil, &transportError{err: errors.New("cannot build the request")}
	}
	if body == nil {
		req.Body, req.GetBody, req.ContentLength = http.NoBody, nil, 0
	} else {
		req.Header["Content-Type"] = []string{"application/json"}
	}
	req.Header["Accept"] = []string{"application/json"}
	req.Header["api-key"] = []string{g.apiKey}
	for k, v := range headers {
		req.Header[k] = []string{v}
	}

	// WroteRequest tells a failure before sending (nothing can have
	// happened) from one after it (the gateway may have acted).
	var wrote atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				wrote.Store(true)
			}
		},
	}))

	start := time.Now()
	resp, err := g.client.Do(req)
	if err != nil {
		terr := &transportError{written: wrote.Load(), err: withoutURL(err)}
		g.log.WarnContext(ctx, "clearent: "+op+" failed",
			slog.Bool("request_sent", terr.written), slog.Duration("duration", time.Since(start)), slog.Any("err", terr.err))
		return nil, terr
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		terr := &transportError{written: true, err: withoutURL(err)}
		g.log.WarnContext(ctx, "clearent: "+op+" failed reading the answer",
			slog.Int("http_status", resp.StatusCode), slog.Duration("duration", time.Since(start)), slog.Any("err", terr.err))
		return nil, terr
	}

	res := &response{status: resp.StatusCode}
	if len(data) > 0 && len(data) <= maxResponseBytes {
		res.parsed = json.Unmarshal(data, &res.env) == nil
	}

	level := slog.LevelInfo
	if res.status >= 400 && res.status != http.StatusPaymentRequired && res.status != http.StatusNotFound {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.Int("http_status", res.status),
		slog.String("exchange_id", string(res.env.ExchangeID)),
		slog.Duration("duration", time.Since(start)),
	}
	if p := res.env.Payload; p.Transaction != nil {
		attrs = append(attrs, slog.String("result", string(p.Transaction.Result)), slog.String("result_code", string(p.Transaction.ResultCode)))
	}
	if p := res.env.Payload; p.Error != nil {
		attrs = append(attrs, slog.String("error_result_code", string(p.Error.ResultCode)))
	}
	if !res.parsed {
		attrs = append(attrs, slog.Bool("unreadable_body", true))
	}
	g.log.LogAttrs(ctx, level, "clearent: "+op, attrs...)
	return res, nil
}

// withoutURL drops the *url.Error wrapper, whose message quotes the request
// URL (a DELETE's URL holds the card token).
func withoutURL(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}

// refused reports whether a 2xx answer nonetheless says the operation failed.
func (r *response) refused() bool {
	if s := string(r.env.Status); s != "" && !strings.EqualFold(s, "success") {
		return true
	}
	t := r.env.Payload.Transaction
	return t != nil && t.Result != "" && !strings.EqualFold(string(t.Result), "APPROVED")
}

// decline turns a refusal into a DeclineError, preferring the transaction's
// display-message and result-code to the error object's.
func (r *response) decline() *gateway.DeclineError {
	var code, msg string
	if t := r.env.Payload.Transaction; t != nil {
		code, msg = string(t.ResultCode), string(t.DisplayMessage)
	}
	if e := r.env.Payload.Error; e != nil {
		if code == "" {
			code = string(e.ResultCode)
		}
		if msg == "" {
			msg = string(e.ErrorMessage)
		}
	}
	code = safeText(code, 16)
	if code == "" {
		code = "declined"
	}
	msg = safeText(msg, maxMessageLen)
	if msg == "" {
		msg = "Declined"
	}
	return &gateway.DeclineError{Code: code, Message: msg}
}

// mentionsJWT reports whether the gateway's error is about the mobilejwt.
// Clearent documents no code for a used or expired mobilejwt, so this is a
// best guess; anything else is treated as a configuration error.
func (r *response) mentionsJWT() bool {
	e := r.env.Payload.Error
	return e != nil && strings.Contains(strings.ToLower(string(e.ErrorMessage)), "jwt")
}

// describe is a safe summary of an answer for errors: no body, no secrets.
func (r *response) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", r.status)
	switch {
	case r.status == http.StatusBadRequest:
		b.WriteString(", the gateway rejected the request")
	case r.status == http.StatusUnauthorized:
		b.WriteString(", the gateway rejected the API key")
	case r.status == http.StatusForbidden:
		b.WriteString(", the API key may not do this")
	case r.status == http.StatusNotFound:
		b.WriteString(", not found: check the base URL")
	case r.status >= 300 && r.status <= 399:
		b.WriteString(", unexpected redirect: check the base URL")
	case r.status >= 500:
		b.WriteString(", gateway error")
	}
	if id := safeText(string(r.env.ExchangeID), 128); id != "" {
		b.WriteString(", exchange-id " + id)
	}
	if t := r.env.Payload.Transaction; t != nil && t.ResultCode != "" {
		b.WriteString(", result-code " + safeText(string(t.ResultCode), 16))
	}
	if e := r.env.Payload.Error; e != nil && e.ResultCode != "" {
		b.WriteString(", error result-code " + safeText(string(e.ResultCode), 16))
	}
	return b.String()
}

// card reads the stored card from a create-token answer: the token from
// payload.tokenResponse["token-id"] or the links entry with rel "token", the
// details from tokenResponse or transaction. ok is false without an expiry.
func (r *response) card() (card gateway.Card, ok bool) {
	p := r.env.Payload
	var cardType, last4, exp, first, last, zip string
	if tr := p.TokenResponse; tr != nil {
		card.Token = string(tr.TokenID)
		cardType, last4, exp = string(tr.CardType), string(tr.LastFourDigits), string(tr.ExpDate)
		first, last, zip = string(tr.CustomerFirstName), string(tr.CustomerLastName), string(tr.AVSZip)
	}
	if card.Token == "" {
		for _, l := range r.env.Links {
			if strings.EqualFold(string(l.Rel), "token") && l.ID != "" {
				card.Token = string(l.ID)
				break
			}
		}
	}
	if t := p.Transaction; t != nil {
		cardType = orElse(cardType, string(t.CardType))
		last4 = orElse(last4, string(t.LastFour))
		if masked := string(t.Card); last4 == "" && len(masked) >= 4 {
			last4 = masked[len(masked)-4:]
		}
		exp = orElse(exp, string(t.ExpDate))
		if b := t.Billing; b != nil {
			first, last = orElse(first, string(b.FirstName)), orElse(last, string(b.LastName))
			zip = orElse(zip, string(b.Zip))
		}
	}
	card.Brand = brand(cardType)
	if isDigits(last4) && len(last4) == 4 {
		card.Last4 = last4
	}
	card.CardholderName = safeText(strings.Join(strings.Fields(first+" "+last), " "), 100)
	card.PostalCode = safeText(zip, 10)
	card.ExpMonth, card.ExpYear, ok = parseExpDate(exp)
	return card, ok
}

func orElse(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// checkMobileJWT rejects, without a call, what cannot be a usable mobilejwt:
// not three base64url segments, or an exp claim in the past. Other claims
// (the JWT carries a card token) are never read out or logged.
func (g *Gateway) checkMobileJWT(s string) error {
	if s == "" || len(s) > maxJWTLen {
		return gateway.ErrInvalidToken
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return gateway.ErrInvalidToken
	}
	for _, p := range parts {
		if p == "" || strings.IndexFunc(p, func(r rune) bool {
			return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '=')
		}) >= 0 {
			return gateway.ErrInvalidToken
		}
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil // let the gateway judge what we cannot read
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(raw, &claims) != nil || claims.Exp == "" {
		return nil
	}
	if exp, err := claims.Exp.Float64(); err == nil && exp > 0 && !g.now().Before(time.Unix(int64(exp), 0)) {
		return fmt.Errorf("%w: expired", gateway.ErrInvalidToken)
	}
	return nil
}

// formatAmount renders positive cents as Clearent's decimal string: 12551 → "125.51".
func formatAmount(cents int64) string {
	return strconv.FormatInt(cents/100, 10) + "." + fmt.Sprintf("%02d", cents%100)
}

// expDate renders an expiry as MMYY; years may be given as 2026 or 26.
func expDate(month, year int) (string, bool) {
	if month < 1 || month > 12 {
		return "", false
	}
	switch {
	case year >= 2000 && year <= 2099:
		year %= 100
	case year >= 0 && year <= 99:
	default:
		return "", false
	}
	return fmt.Sprintf("%02d%02d", month, year), true
}

// parseExpDate reads MMYY (or MMYYYY, separators ignored) into month and a four-digit year.
func parseExpDate(s string) (month, year int, ok bool) {
	d := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		if r == '/' || r == '-' || r == ' ' {
			return -1
		}
		return 'x'
	}, s)
	if !isDigits(d) || (len(d) != 4 && len(d) != 6) {
		return 0, 0, false
	}
	month, _ = strconv.Atoi(d[:2])
	year, _ = strconv.Atoi(d[2:])
	if len(d) == 4 {
		year += 2000
	}
	if month < 1 || month > 12 || year < 2000 || year > 2099 {
		return 0, 0, false
	}
	return month, year, true
}

// brand maps Clearent's card-type to cardfile's brand names.
func brand(cardType string) string {
	n := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		if r >= 'A' && r <= 'Z' {
			return r
		}
		return -1
	}, cardType)
	switch {
	case strings.HasPrefix(n, "VISA"):
		return "VISA"
	case n == "MC" || strings.HasPrefix(n, "MASTER"):
		return "MASTERCARD"
	case n == "AMEX" || n == "AMERICANEXPRESS" || n == "AX":
		return "AMEX"
	case strings.HasPrefix(n, "DISCOVER"):
		return "DISCOVER"
	case strings.HasPrefix(n, "DINERS"):
		return "DINERS"
	case n == "JCB":
		return "JCB"
	default:
		return "UNKNOWN"
	}
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// safeText makes gateway-supplied text fit for logs, errors and staff: no
// control characters, collapsed spaces, no long digit runs (in case a message
// ever carried a card number), at most max runes.
func safeText(s string, max int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError
	}), " ")
	var b strings.Builder
	flush := func(digits string) {
		if len(digits) >= 12 {
			b.WriteString("[redacted]")
		} else {
			b.WriteString(digits)
		}
	}
	start := -1
	for i, r := range s {
		if r >= '0' && r <= '9' {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			flush(s[start:i])
			start = -1
		}
		b.WriteRune(r)
	}
	if start >= 0 {
		flush(s[start:])
	}
	return clip(b.String(), max)
}

// clip trims s and cuts it to at most max runes.
func clip(s string, max int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:max]))
}
