package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cardfile/ent/auditevent"
	"cardfile/ent/creditcard"
	"cardfile/internal/cards"
	"cardfile/internal/viewer"
)

// gqlAsync is h.gql for goroutines other than the test's: it never calls
// t.Fatal, and returns a body that is not JSON as an error instead.
func (h *harness) gqlAsync(token, query string, vars map[string]any) (gqlResponse, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.app.Handler.ServeHTTP(rec, req)
	raw, _ := io.ReadAll(rec.Body)
	h.responses.Write(append(raw, '\n'))
	r := gqlResponse{Status: rec.Code, Raw: string(raw)}
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, fmt.Errorf("response is not JSON (HTTP %d): %s", rec.Code, raw)
	}
	return r, nil
}

// cardPool is the card ids a customer is known to have, for picking targets.
type cardPool struct {
	mu  sync.Mutex
	ids []string
}

func (p *cardPool) add(id string) { p.mu.Lock(); p.ids = append(p.ids, id); p.mu.Unlock() }

func (p *cardPool) remove(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := slices.Index(p.ids, id); i >= 0 && len(p.ids) > 1 {
		p.ids = slices.Delete(p.ids, i, i+1)
	}
}

func (p *cardPool) pick(rng *rand.Rand) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ids[rng.IntN(len(p.ids))]
}

// callResult is one concurrent mutation and how it ended.
type callResult struct {
	op, target string // target: the card id, or "" for an add
	code       string // "" on success
	cardID     string // the added card, or the card promoted by a delete
	primary    bool   // an added card came back primary
	err        error
}

// Fifty card changes racing on one customer (mark primary, add, delete) never
// leave two primary cards, nor none while an unexpired card remains; every
// call succeeds or finds its card already deleted; every change is audited
// once; the gateway keeps exactly the tokens of the cards that remain.
func TestOnePrimaryUnderConcurrentChanges(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Racy", 1)
	cust := tn.customers[0]
	custID := fmt.Sprint(cust.ID)
	var managers []string
	for _, r := range viewer.DefaultCardManagers {
		managers = append(managers, tn.tokens[r])
	}
	approved := []string{"4242424242424242", "4111111111111111", "5555555555554444", "2223003122003222",
		"6011111111111117", "3566002020360505", "3056930009020004", "378282246310005"}

	// Five cards through the API (the first is primary), and an expired one
	// put in directly, which may never be primary.
	pool := &cardPool{}
	initialPrimary := ""
	for i := range 5 {
		c := h.addCard(managers[0], custID, approved[i], fmt.Sprintf("card %d", i), "")
		pool.add(c.ID)
		if c.IsPrimary {
			initialPrimary = c.ID
		}
	}
	sealed, err := h.app.Sealer.Seal("sbct_expired-card-not-in-the-vault", cards.GatewayTokenPurpose)
	if err != nil {
		t.Fatal(err)
	}
	now := h.clock.Now()
	expired := h.app.DB.CreditCard.Create().SetCompanyID(cust.CompanyID).SetCustomerID(cust.ID).
		SetGatewayToken(sealed).SetBrand(creditcard.BrandVISA).SetLast4("0005").
		SetExpMonth(1).SetExpYear(now.Year() - 1).SetSource(creditcard.SourceSTAFF).SaveX(h.sys)
	auditBefore := h.app.DB.AuditEvent.Query().Where(auditevent.CustomerID(cust.ID)).CountX(h.sys)

	// The calls: 24 mark-primary, 14 adds (made primary half the time) with
	// payment tokens made beforehand, 12 deletes; shuffled with a fixed seed.
	// The targets are picked when a call starts, among the cards added and
	// not yet deleted by then, so many calls race for the same card.
	const seed = 20261126
	rng := rand.New(rand.NewPCG(seed, seed))
	type call struct {
		op, token, paymentToken string
		makePrimary             bool
		rng                     *rand.Rand
	}
	var calls []call
	for i := range 50 {
		c := call{token: managers[i%len(managers)], rng: rand.New(rand.NewPCG(seed, uint64(i)))}
		switch {
		case i < 24:
			c.op = "setPrimary"
		case i < 38:
			c.op, c.paymentToken, c.makePrimary = "add", h.paymentToken(approved[rng.IntN(len(approved))]), i%2 == 0
		default:
			c.op = "delete"
		}
		calls = append(calls, c)
	}
	rng.Shuffle(len(calls), func(i, j int) { calls[i], calls[j] = calls[j], calls[i] })

	// The poller reads, in one statement, how many primary and unexpired
	// cards the customer has, as often as it can while the calls run.
	countSQL := `SELECT (SELECT count(*) FROM credit_cards WHERE customer_id = ? AND is_primary),
		(SELECT count(*) FROM credit_cards WHERE customer_id = ? AND id <> ?)`
	countArgs := []any{cust.ID, cust.ID, expired.ID}
	if h.app.DB.Dialect == "postgres" {
		countSQL = `SELECT (SELECT count(*) FROM credit_cards WHERE customer_id = $1 AND is_primary),
		(SELECT count(*) FROM credit_cards WHERE customer_id = $1 AND id <> $2)`
		countArgs = []any{cust.ID, expired.ID}
	}
	var (
		stop                = make(chan struct{})
		pollerDone          = make(chan struct{})
		polls, maxPrimaries int
		noPrimaryPolls      int // polls that saw unexpired cards and no primary
		pollErr             error
	)
	go func() {
		defer close(pollerDone)
		for {
			var primaries, unexpired int
			if err := h.app.DB.SQL.QueryRowContext(h.sys, countSQL, countArgs...).Scan(&primaries, &unexpired); err != nil {
				pollErr = err
				return
			}
			polls++
			maxPrimaries = max(maxPrimaries, primaries)
			if primaries == 0 && unexpired > 0 {
				noPrimaryPolls++
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}()

	results := make([]callResult, len(calls))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// Spread the calls over a tenth of a second, so later ones may
			// pick cards that earlier ones added.
			time.Sleep(time.Duration(c.rng.IntN(100)) * time.Millisecond)
			res := callResult{op: c.op}
			var r gqlResponse
			switch c.op {
			case "setPrimary":
				res.target = pool.pick(c.rng)
				r, res.err = h.gqlAsync(c.token, `mutation($id: ID!) { setPrimaryCreditCard(id: $id) { id isPrimary } }`,
					map[string]any{"id": res.target})
			case "add":
				r, res.err = h.gqlAsync(c.token, `mutation($c: ID!, $t: String!, $p: Boolean) {
					addCreditCard(input: {customerId: $c, paymentToken: $t, makePrimary: $p, allowDuplicate: true}) { id isPrimary } }`,
					map[string]any{"c": custID, "t": c.paymentToken, "p": c.makePrimary})
			case "delete":
				res.target = pool.pick(c.rng)
				r, res.err = h.gqlAsync(c.token, `mutation($id: ID!) { deleteCreditCard(id: $id) { deletedId newPrimary { id isPrimary } } }`,
					map[string]any{"id": res.target})
			}
			if res.err != nil {
				results[i] = res
				return
			}
			res.code = r.code()
			if res.code == "" && r.Status != http.StatusOK {
				res.err = fmt.Errorf("HTTP %d without an error code: %s", r.Status, r.Raw)
			}
			if res.code == "" {
				var out struct {
					SetPrimaryCreditCard struct {
						ID        string
						IsPrimary bool
					}
					AddCreditCard struct {
						ID        string
						IsPrimary bool
					}
					DeleteCreditCard struct {
						DeletedID  string
						NewPrimary *struct {
							ID        string
							IsPrimary bool
						}
					}
				}
				if err := json.Unmarshal(r.Data, &out); err != nil {
					res.err = fmt.Errorf("decoding %s: %w", r.Data, err)
				}
				switch c.op {
				case "setPrimary":
					if out.SetPrimaryCreditCard.ID != res.target || !out.SetPrimaryCreditCard.IsPrimary {
						res.err = fmt.Errorf("setPrimary answered %s", r.Raw)
					}
				case "add":
					res.cardID, res.primary = out.AddCreditCard.ID, out.AddCreditCard.IsPrimary
					if res.cardID == "" || (c.makePrimary && !res.primary) {
						res.err = fmt.Errorf("add (makePrimary %v) answered %s", c.makePrimary, r.Raw)
					}
					pool.add(res.cardID)
				case "delete":
					if out.DeleteCreditCard.DeletedID != res.target {
						res.err = fmt.Errorf("delete answered %s", r.Raw)
					}
					pool.remove(res.target)
					if p := out.DeleteCreditCard.NewPrimary; p != nil {
						res.cardID = p.ID
						if !p.IsPrimary {
							res.err = fmt.Errorf("delete promoted a card that is not primary: %s", r.Raw)
						}
					}
				}
			}
			results[i] = res
		}()
	}
	close(start)
	wg.Wait()
	close(stop)
	<-pollerDone

	// Every call succeeded or found its card gone.
	ok := map[string]int{}
	notFound := map[string]int{}
	okSetPrimary := map[string]int{} // card id → successful setPrimary calls
	everPrimary := map[string]bool{initialPrimary: true}
	deleted := map[string]bool{}
	var notFoundTargets []string
	for _, res := range results {
		switch {
		case res.err != nil:
			t.Errorf("%s %s: %v", res.op, res.target, res.err)
		case res.code == "":
			ok[res.op]++
			switch {
			case res.op == "setPrimary":
				okSetPrimary[res.target]++
			case res.op == "add" && res.primary, res.op == "delete" && res.cardID != "":
				everPrimary[res.cardID] = true
			}
			if res.op == "delete" {
				deleted[res.target] = true
			}
		case res.code == "NOT_FOUND" && res.op != "add":
			notFound[res.op]++
			notFoundTargets = append(notFoundTargets, res.target)
		default:
			t.Errorf("%s %s failed with %s", res.op, res.target, res.code)
		}
	}
	for _, id := range notFoundTargets {
		if !deleted[id] {
			t.Errorf("card %s was not found, but no call deleted it", id)
		}
	}
	if pollErr != nil {
		t.Fatalf("polling the primary count: %v", pollErr)
	}
	if t.Failed() {
		t.Logf("responses:\n%s", h.responses.String())
		for _, l := range strings.Split(h.logs.String(), "\n") {
			if strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") {
				t.Log(l)
			}
		}
		t.FailNow()
	}
	t.Logf("%s: succeeded %v, not found %v; %d polls, at most %d primary seen, %d polls with no primary",
		h.app.DB.Dialect, ok, notFound, polls, maxPrimaries, noPrimaryPolls)
	if polls < 2 || ok["add"] == 0 || ok["delete"] == 0 || ok["setPrimary"] == 0 {
		t.Fatalf("the race did not happen: %d polls, %v succeeded", polls, ok)
	}
	if maxPrimaries > 1 {
		t.Errorf("a poll saw %d primary cards at once", maxPrimaries)
	}
	if noPrimaryPolls > 0 {
		t.Errorf("%d polls saw unexpired cards and no primary", noPrimaryPolls)
	}

	// The end state: the cards that should be there, one primary unless
	// only the expired card is left, and it never primary.
	left := h.app.DB.CreditCard.Query().Where(creditcard.CustomerID(cust.ID)).AllX(h.sys)
	if want := 6 + ok["add"] - ok["delete"]; len(left) != want {
		t.Errorf("%d cards left, want %d", len(left), want)
	}
	primaries, unexpired := 0, 0
	for _, c := range left {
		if c.IsPrimary {
			primaries++
			if c.ID == expired.ID {
				t.Errorf("the expired card became primary")
			}
		}
		if !cards.Expired(c, now) {
			unexpired++
		}
	}
	if want := min(unexpired, 1); primaries != want {
		t.Errorf("%d primary cards among %d unexpired, want %d", primaries, unexpired, want)
	}

	// The gateway holds exactly the remaining cards' tokens: no orphans
	// from deletes, no card here without its token there.
	var vault int
	if err := h.app.DB.SQL.QueryRowContext(h.sys, `SELECT count(*) FROM sandbox_cards`).Scan(&vault); err != nil {
		t.Fatal(err)
	}
	if want := len(left) - 1; vault != want {
		t.Errorf("the sandbox vault holds %d cards, want %d", vault, want)
	}

	// One audit event per change. A mark-primary of the card that is
	// already primary succeeds and changes nothing, so it is not audited:
	// a card may have fewer set_primary events than successful calls only
	// if it was primary at some point.
	events := h.app.DB.AuditEvent.Query().Where(auditevent.CustomerID(cust.ID)).Order(auditevent.ByID()).AllX(h.sys)[auditBefore:]
	audited := map[string]int{}
	auditedSetPrimary := map[string]int{}
	for _, e := range events {
		if e.Outcome != auditevent.OutcomeSUCCESS {
			t.Errorf("audit event %d: outcome %s", e.ID, e.Outcome)
		}
		audited[e.Action]++
		if e.Action == "credit_card.set_primary" {
			id := strconv.Itoa(*e.SubjectID)
			auditedSetPrimary[id]++
			everPrimary[id] = true
		}
	}
	if audited["credit_card.add"] != ok["add"] || audited["credit_card.delete"] != ok["delete"] {
		t.Errorf("audited %v, but %v succeeded", audited, ok)
	}
	noOps := 0
	var ids []string
	for id := range okSetPrimary {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		succeeded, evs := okSetPrimary[id], auditedSetPrimary[id]
		switch {
		case evs > succeeded:
			t.Errorf("card %s: %d set_primary events for %d successful calls", id, evs, succeeded)
		case evs < succeeded && !everPrimary[id]:
			t.Errorf("card %s: %d set_primary events for %d successful calls, and it was never primary", id, evs, succeeded)
		}
		noOps += succeeded - evs
	}
	if len(events) != ok["add"]+ok["delete"]+ok["setPrimary"]-noOps {
		t.Errorf("%d audit events for %v successful calls (%d of them no-ops)", len(events), ok, noOps)
	}
	t.Logf("audit events %v; %d mark-primary calls found the card already primary", audited, noOps)
}
