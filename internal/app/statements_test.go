package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"cardfile/ent"
	"cardfile/ent/creditcard"
	"cardfile/internal/app"
	"cardfile/internal/viewer"
)

// statementLine matches the lines ent's debug driver writes for a
// statement, outside a transaction ("driver.Query: query=…") or inside one
// ("Tx(<id>).ExecContext: query=…"); not the "started", "committed" and
// "rollbacked" lines.
var statementLine = regexp.MustCompile(`^(driver|Tx\([^)]*\))\.(Exec|Query)(Context)?: query=`)

// counted marks the context of the requests a statementCounter counts.
type counted struct{}

// statementCounter counts the SQL statements sent under a counted context:
// one request's own, never a background job's that runs meanwhile.
type statementCounter struct {
	mu    sync.Mutex
	lines []string
	other int // statements sent under other contexts (background jobs)
}

func (c *statementCounter) hook(ctx context.Context, line string) {
	if !statementLine.MatchString(line) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ctx.Value(counted{}) == nil {
		c.other++
		return
	}
	c.lines = append(c.lines, line)
}

func (c *statementCounter) others() int { c.mu.Lock(); defer c.mu.Unlock(); return c.other }

// during returns the statements h's requests send while fn runs.
func (c *statementCounter) during(h *harness, fn func()) []string {
	c.mu.Lock()
	c.lines = nil
	c.mu.Unlock()
	h.requests = context.WithValue(context.Background(), counted{}, true)
	defer func() { h.requests = nil }()
	fn()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lines
}

// A page of customers with their cards costs the same handful of statements
// whether it holds 10 customers or 100: no query per customer.
func TestCustomerPageCostsConstantStatements(t *testing.T) {
	counter := &statementCounter{}
	h := newHarness(t, func(o *app.Options) {
		o.StatementHook = counter.hook
	})
	tn := h.newTenant("Countable", 120)
	other := h.newTenant("Elsewhere", 3) // another company's cards must not change the count either

	// 1–3 cards a customer, inserted directly; the first is primary, and
	// every fifth customer also keeps an expired card.
	now := h.clock.Now()
	var bulk []*ent.CreditCardCreate
	for _, company := range []*tenant{tn, other} {
		for i, cu := range company.customers {
			for j := 0; j < 1+i%3; j++ {
				year := now.Year() + 1 + j
				if j == 1 && i%5 == 0 {
					year = now.Year() - 1
				}
				bulk = append(bulk, h.app.DB.CreditCard.Create().
					SetCompanyID(cu.CompanyID).SetCustomerID(cu.ID).
					SetGatewayToken(fmt.Sprintf("v1:not-a-real-sealed-token-%d-%d", cu.ID, j)).
					SetBrand(creditcard.BrandVISA).SetLast4(fmt.Sprintf("%04d", (i*3+j)%10000)).
					SetExpMonth(1+(i+j)%12).SetExpYear(year).
					SetSource(creditcard.SourceSTAFF).SetIsPrimary(j == 0))
			}
		}
	}
	for len(bulk) > 0 {
		n := min(len(bulk), 100)
		h.app.DB.CreditCard.CreateBulk(bulk[:n]...).ExecX(h.sys)
		bulk = bulk[n:]
	}
	manager := tn.tokens[viewer.CreditManager]

	// The job queue keeps querying meanwhile (card-request expiry runs every
	// 50 ms here); none of it may count against a request.
	t.Run("background statements are not counted", func(t *testing.T) {
		since := counter.others()
		stmts := counter.during(h, func() {
			deadline := time.Now().Add(10 * time.Second)
			for counter.others() == since && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
		})
		if counter.others() == since {
			t.Fatal("no background statement ran in 10 s; the check proves nothing")
		}
		if len(stmts) != 0 {
			t.Fatalf("background statements were counted:\n%s", brief(stmts))
		}
	})

	for _, shape := range []struct{ name, node string }{
		{"cards and primary", `id name code canPayByCard { allowed reason } primaryCreditCard { id last4 }
			creditCards { id last4 isPrimary expired expiresSoon display }`},
		{"primary only", `id name code canPayByCard { allowed reason } primaryCreditCard { id last4 }`},
		{"cards only", `id name code creditCards { id last4 isPrimary expired expiresSoon display }`},
	} {
		t.Run(shape.name, func(t *testing.T) {
			h.t = t
			query := `query($n: Int!) { customers(first: $n, orderBy: {field: NAME, direction: ASC}) {
				totalCount edges { node { ` + shape.node + ` } } pageInfo { hasNextPage endCursor } } }`
			counts := map[int]int{}
			var first []string
			for _, n := range []int{10, 50, 100} {
				var r gqlResponse
				stmts := counter.during(h, func() { r = h.gql(manager, query, map[string]any{"n": n}) })
				checkCustomerPage(t, r, n, len(tn.customers), strings.Contains(shape.node, "creditCards"), strings.Contains(shape.node, "primaryCreditCard"))
				counts[n] = len(stmts)
				if first == nil {
					first = stmts
				}
				if len(stmts) != len(first) {
					t.Errorf("first: %d costs %d statements, first: 10 cost %d:\n%s\n--- versus ---\n%s",
						n, len(stmts), len(first), brief(stmts), brief(first))
				}
			}
			t.Logf("statements per page (%s): first 10 → %d, 50 → %d, 100 → %d", h.app.DB.Dialect, counts[10], counts[50], counts[100])
			if counts[10] > 8 {
				t.Errorf("a page costs %d statements, want at most 8:\n%s", counts[10], brief(first))
			}
		})
	}
}

// brief lists statements cut to their first 120 characters.
func brief(stmts []string) string {
	var b strings.Builder
	for _, s := range stmts {
		if len(s) > 120 {
			s = s[:120] + "…"
		}
		b.WriteString(s + "\n")
	}
	return b.String()
}

// checkCustomerPage checks that the page is what was asked for, so a
// constant count cannot come from an empty or failed page.
func checkCustomerPage(t *testing.T, r gqlResponse, n, total int, wantCards, wantPrimary bool) {
	t.Helper()
	var page struct {
		Customers struct {
			TotalCount int
			Edges      []struct {
				Node struct {
					ID, Name          string
					PrimaryCreditCard *struct{ ID string }
					CreditCards       []struct {
						ID        string
						IsPrimary bool
						Expired   bool
					}
				}
			}
			PageInfo struct{ HasNextPage bool }
		}
	}
	r.decode(t, &page)
	c := page.Customers
	if c.TotalCount != total || len(c.Edges) != n || c.PageInfo.HasNextPage != (n < total) {
		t.Fatalf("page of %d: totalCount %d, %d edges, hasNextPage %v", n, c.TotalCount, len(c.Edges), c.PageInfo.HasNextPage)
	}
	cards, names := 0, make([]string, 0, n)
	for _, e := range c.Edges {
		names = append(names, e.Node.Name)
		if wantPrimary && e.Node.PrimaryCreditCard == nil {
			t.Fatalf("customer %s has no primary card on the page", e.Node.Name)
		}
		if wantCards {
			if len(e.Node.CreditCards) == 0 || !e.Node.CreditCards[0].IsPrimary {
				t.Fatalf("customer %s: cards %+v, want the primary first", e.Node.Name, e.Node.CreditCards)
			}
			if wantPrimary && e.Node.CreditCards[0].ID != e.Node.PrimaryCreditCard.ID {
				t.Fatalf("customer %s: primaryCreditCard %s is not the first card %s", e.Node.Name, e.Node.PrimaryCreditCard.ID, e.Node.CreditCards[0].ID)
			}
		}
		cards += len(e.Node.CreditCards)
	}
	if wantCards && cards < n {
		t.Fatalf("page of %d holds only %d cards", n, cards)
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] > names[i] {
			b, _ := json.Marshal(names)
			t.Fatalf("page is not ordered by name: %s", b)
		}
	}
}
