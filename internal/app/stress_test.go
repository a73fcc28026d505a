package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cardfile/internal/db/dbtest"
	"cardfile/internal/gateway/sandbox"
	"cardfile/internal/viewer"
)

// stressDuration is how long the card stress test runs: long enough on
// PostgreSQL for lock-order deadlocks to show (they need row locks held by
// concurrent transactions), a few seconds on SQLite, where every write
// transaction is exclusive anyway and the test checks the same rules.
var stressDuration = func() time.Duration {
	if dbtest.Postgres() {
		return 30 * time.Second
	}
	return 3 * time.Second
}()

const (
	stressClients   = 16
	stressCustomers = 3
)

// stressOps are the calls a stress client makes, with their weights; adds
// and deletes roughly balance so customers stay under the card limit.
var stressOps = []struct {
	name   string
	weight int
}{
	{"add", 2}, {"rename", 3}, {"setPrimary", 3}, {"delete", 3}, {"paySaved", 2}, {"payNewAndSave", 1},
}

// Sixteen clients mixing every card change with payments (saved cards, and
// new cards saved while paying) on a few customers: no call answers
// INTERNAL or anything unexpected, nothing deadlocks, no customer ever has
// two primary cards (a poller watches the table while the calls run), and
// at the end every customer with cards has exactly one primary and the
// gateway keeps exactly the cards on file.
func TestCardChangesAndPaymentsUnderLoad(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Stress", stressCustomers)
	var managers []string
	for _, r := range viewer.DefaultCardManagers {
		managers = append(managers, tn.tokens[r])
	}
	approved := []string{"4242424242424242", "4111111111111111", "5555555555554444", "2223003122003222",
		"6011111111111117", "3566002020360505", "3056930009020004", "378282246310005"}
	pools := make([]*cardPool, stressCustomers)
	custIDs := make([]string, stressCustomers)
	for i, c := range tn.customers {
		custIDs[i], pools[i] = fmt.Sprint(c.ID), &cardPool{}
		for j := range 3 {
			pools[i].add(h.addCard(managers[0], custIDs[i], approved[j], fmt.Sprintf("start %d", j), "").ID)
		}
	}
	tokenize := func(rng *rand.Rand) (string, error) {
		number := approved[rng.IntN(len(approved))]
		cvc := "999"
		if strings.HasPrefix(number, "37") {
			cvc = "9999"
		}
		res, err := h.app.Sandbox.Tokenize(context.Background(), sandbox.CardInput{
			Number: number, ExpMonth: 12, ExpYear: h.clock.Now().Year() + 3, CVC: cvc, PostalCode: "12345", Name: "Pat Buyer",
		})
		return res.Token, err
	}

	// The poller reads, in one statement, the most primary cards any
	// customer has, as often as it can while the clients run.
	var (
		stop                = make(chan struct{})
		pollerDone          = make(chan struct{})
		polls, maxPrimaries int
		pollErr             error
	)
	go func() {
		defer close(pollerDone)
		const q = `SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM credit_cards WHERE is_primary GROUP BY customer_id) p`
		for {
			var n int
			if err := h.app.DB.SQL.QueryRowContext(h.sys, q).Scan(&n); err != nil {
				pollErr = err
				return
			}
			polls++
			maxPrimaries = max(maxPrimaries, n)
			select {
			case <-stop:
				return
			default:
			}
		}
	}()

	var (
		mu         sync.Mutex
		tally      = map[string]map[string]int{} // op → code ("OK" on success) → calls
		unexpected []string
		keys       atomic.Int64
	)
	record := func(op, code, raw string, ok bool) {
		mu.Lock()
		defer mu.Unlock()
		if tally[op] == nil {
			tally[op] = map[string]int{}
		}
		tally[op][code]++
		if !ok && len(unexpected) < 20 {
			unexpected = append(unexpected, fmt.Sprintf("%s: %s", op, raw))
		}
	}
	totalWeight := 0
	for _, o := range stressOps {
		totalWeight += o.weight
	}
	deadline := time.Now().Add(stressDuration)
	var wg sync.WaitGroup
	for client := range stressClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(20261201, uint64(client)))
			token := managers[client%len(managers)]
			for time.Now().Before(deadline) {
				ci := rng.IntN(stressCustomers)
				pool, cust := pools[ci], custIDs[ci]
				op := ""
				for w := rng.IntN(totalWeight); op == ""; {
					for _, o := range stressOps {
						if w -= o.weight; w < 0 {
							op = o.name
							break
						}
					}
				}
				if n := pool.size(); n >= 15 {
					op = "delete"
				} else if n <= 1 && op == "delete" {
					op = "add"
				}
				var (
					r   gqlResponse
					err error
				)
				target := pool.pick(rng)
				key := fmt.Sprintf("stress-%d", keys.Add(1))
				amount := fmt.Sprintf("%d.%02d", 1+rng.IntN(500), rng.IntN(50)) // cents below .51: always approved
				switch op {
				case "add":
					var pt string
					if pt, err = tokenize(rng); err == nil {
						r, err = h.gqlAsync(token, `mutation($c: ID!, $t: String!, $p: Boolean) {
							addCreditCard(input: {customerId: $c, paymentToken: $t, makePrimary: $p, allowDuplicate: true}) { id } }`,
							map[string]any{"c": cust, "t": pt, "p": rng.IntN(2) == 0})
					}
				case "rename":
					r, err = h.gqlAsync(token, `mutation($id: ID!, $d: String!) { editCreditCard(id: $id, input: {description: $d}) { id } }`,
						map[string]any{"id": target, "d": fmt.Sprintf("renamed by %d", client)})
				case "setPrimary":
					r, err = h.gqlAsync(token, `mutation($id: ID!) { setPrimaryCreditCard(id: $id) { id } }`, map[string]any{"id": target})
				case "delete":
					r, err = h.gqlAsync(token, `mutation($id: ID!) { deleteCreditCard(id: $id) { deletedId } }`, map[string]any{"id": target})
					if err == nil && r.code() == "" {
						pool.remove(target)
					}
				case "paySaved":
					r, err = h.gqlAsync(token, applyQ, map[string]any{"in": map[string]any{
						"customerId": cust, "amount": amount, "screen": "RECEIVE_PAYMENTS", "idempotencyKey": key, "creditCardId": target}})
				case "payNewAndSave":
					var pt string
					if pt, err = tokenize(rng); err == nil {
						r, err = h.gqlAsync(token, applyQ, map[string]any{"in": map[string]any{
							"customerId": cust, "amount": amount, "screen": "ORDER_ENTRY", "idempotencyKey": key,
							"paymentToken": pt, "saveCard": true, "makePrimary": rng.IntN(2) == 0, "description": "saved while paying"}})
					}
				}
				if err != nil {
					record(op, "ERROR", err.Error(), false)
					continue
				}
				code := r.code()
				switch {
				case code == "" && r.Status == http.StatusOK:
					record(op, "OK", "", true)
					if id := newCardID(op, r.Data); id != "" {
						pool.add(id)
					}
				case code == "NOT_FOUND" && op != "add" && op != "payNewAndSave":
					record(op, code, "", true) // its card was deleted meanwhile
				case code == "CONFLICT" && op == "delete" && strings.Contains(r.Raw, "payment with this card is being processed"):
					record(op, code, "", true) // a payment was charging the card
				case code == "BAD_USER_INPUT" && (op == "add" && r.field() == "customerId" || op == "payNewAndSave" && r.field() == "saveCard"):
					record(op, code, "", true) // the customer keeps the most cards allowed
				default:
					if code == "" {
						code = fmt.Sprintf("HTTP %d", r.Status)
					}
					record(op, code, r.Raw, false)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-pollerDone

	ops := make([]string, 0, len(tally))
	for op := range tally {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var summary []string
	internal, calls := 0, 0
	for _, op := range ops {
		summary = append(summary, fmt.Sprintf("%s %v", op, tally[op]))
		internal += tally[op]["INTERNAL"]
		for _, n := range tally[op] {
			calls += n
		}
	}
	t.Logf("%s, %d clients for %s: %d calls (%s); %d INTERNAL; %d polls, at most %d primary per customer",
		h.app.DB.Dialect, stressClients, stressDuration, calls, strings.Join(summary, "; "), internal, polls, maxPrimaries)
	for _, u := range unexpected {
		t.Errorf("unexpected answer: %s", u)
	}
	if pollErr != nil {
		t.Fatalf("polling the primary count: %v", pollErr)
	}
	if n := strings.Count(strings.ToLower(h.logs.String()), "deadlock"); n > 0 {
		t.Errorf("the server log mentions a deadlock %d times", n)
	}
	if n := strings.Count(strings.ToLower(h.responses.String()), "deadlock"); n > 0 {
		t.Errorf("answers mention a deadlock %d times", n)
	}
	if maxPrimaries > 1 {
		t.Errorf("a poll saw a customer with %d primary cards", maxPrimaries)
	}
	for op, want := range map[string]bool{"add": true, "rename": true, "setPrimary": true, "delete": true, "paySaved": true, "payNewAndSave": true} {
		if want && tally[op]["OK"] == 0 {
			t.Errorf("no %s call succeeded: the mix did not happen", op)
		}
	}

	// The end state: each customer with cards has exactly one primary (no
	// card expires during the test), and the gateway keeps exactly the
	// cards on file — nothing orphaned by a failed or refused call.
	var cardsLeft, badCustomers, vault int
	err := h.app.DB.SQL.QueryRowContext(h.sys, `SELECT count(*),
		(SELECT count(*) FROM (SELECT customer_id FROM credit_cards GROUP BY customer_id
			HAVING sum(CASE WHEN is_primary THEN 1 ELSE 0 END) <> 1) b),
		(SELECT count(*) FROM sandbox_cards) FROM credit_cards`).Scan(&cardsLeft, &badCustomers, &vault)
	if err != nil {
		t.Fatal(err)
	}
	if badCustomers > 0 {
		t.Errorf("%d customers end with other than one primary card", badCustomers)
	}
	if vault != cardsLeft {
		t.Errorf("the gateway keeps %d cards for %d on file", vault, cardsLeft)
	}
}

// newCardID is the card a successful call added, if it added one.
func newCardID(op string, data json.RawMessage) string {
	var out struct {
		AddCreditCard          struct{ ID string }
		ApplyCreditCardPayment paymentOut
	}
	if json.Unmarshal(data, &out) != nil {
		return ""
	}
	switch {
	case op == "add":
		return out.AddCreditCard.ID
	case op == "payNewAndSave" && out.ApplyCreditCardPayment.CreditCard != nil:
		return out.ApplyCreditCardPayment.CreditCard.ID
	}
	return ""
}

func (p *cardPool) size() int { p.mu.Lock(); defer p.mu.Unlock(); return len(p.ids) }
