package sandbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"cardfile/internal/gateway"
)

func TestNew(t *testing.T) {
	d := sqliteDB(t)
	if _, err := New(d.open(t), "mysql", "https://x.test"); err == nil {
		t.Error("New accepted dialect mysql")
	}
	if _, err := New(d.open(t), "sqlite", "https://x.test", WithFrameAncestors([]string{"https://a.test; script-src *"})); err == nil {
		t.Error("New accepted a frame ancestor that injects a CSP directive")
	}
	g, err := New(d.open(t), "sqlite3", "https://cardfile.test/")
	if err != nil {
		t.Fatalf("New with ent's sqlite3 dialect: %v", err)
	}
	if got, want := g.HostedFieldsURL(), "https://cardfile.test/sandbox/fields"; got != want {
		t.Errorf("HostedFieldsURL = %q, want %q", got, want)
	}
	if g.Name() != "sandbox" {
		t.Errorf("Name = %q", g.Name())
	}
}

func TestTokenizeDeclines(t *testing.T) {
	eachDB(t, func(t *testing.T, d testDB) {
		g := newGateway(t, d, newTestClock())
		for _, tc := range TestCards {
			if tc.DeclineCode == "" {
				continue
			}
			t.Run(tc.DeclineCode, func(t *testing.T) {
				in := validInput()
				in.Number = tc.Number
				res, err := g.Tokenize(context.Background(), in)
				derr, ok := errors.AsType[*gateway.DeclineError](err)
				if !ok || derr.Code != tc.DeclineCode || derr.Message != tc.DeclineMessage {
					t.Fatalf("Tokenize(%s) = %+v, %v; want decline %s", tc.Number, res, err, tc.DeclineCode)
				}
			})
		}
		if n := countRows(t, g.db, "sandbox_payment_tokens"); n != 0 {
			t.Errorf("declined cards left %d payment tokens", n)
		}
	})
}

func TestSaveCardConsumesTokenOnce(t *testing.T) {
	eachDB(t, func(t *testing.T, d testDB) {
		ctx := context.Background()
		g := newGateway(t, d, newTestClock())
		in := validInput()
		in.Number, in.ExpMonth, in.ExpYear = "4111 1111 1111 1111", 9, 28
		res, err := g.Tokenize(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^sbpt_[A-Za-z0-9_-]{43}$`).MatchString(res.Token) {
			t.Errorf("payment token %q is not sbpt_ + 256-bit base64url", res.Token)
		}
		if want := time.Date(2026, time.March, 10, 12, 15, 0, 0, time.UTC); !res.ExpiresAt.Equal(want) {
			t.Errorf("ExpiresAt = %v, want %v", res.ExpiresAt, want)
		}

		card, err := g.SaveCard(ctx, res.Token)
		if err != nil {
			t.Fatalf("first SaveCard: %v", err)
		}
		if !regexp.MustCompile(`^sbct_[A-Za-z0-9_-]{43}$`).MatchString(card.Token) {
			t.Errorf("card token %q is not sbct_ + 256-bit base64url", card.Token)
		}
		want := gateway.Card{Token: card.Token, Brand: "VISA", Last4: "1111", ExpMonth: 9, ExpYear: 2028, CardholderName: "Jane Doe", PostalCode: "12345"}
		if card != want {
			t.Errorf("SaveCard = %+v, want %+v", card, want)
		}

		for _, token := range []string{res.Token, "sbpt_unknown", "", res.Token + "x"} {
			if _, err := g.SaveCard(ctx, token); !errors.Is(err, gateway.ErrInvalidToken) {
				t.Errorf("SaveCard(%q) error = %v, want ErrInvalidToken", token, err)
			}
		}
		if n := countRows(t, g.db, "sandbox_cards"); n != 1 {
			t.Errorf("vault holds %d cards, want 1", n)
		}
	})
}

func TestPaymentTokenExpiry(t *testing.T) {
	tests := []struct {
		after   time.Duration
		wantErr error
	}{
		{14*time.Minute + 59*time.Second, nil},
		{15*time.Minute + 1*time.Second, gateway.ErrInvalidToken},
	}
	eachDB(t, func(t *testing.T, d testDB) {
		for _, tt := range tests {
			t.Run(tt.after.String(), func(t *testing.T) {
				clock := newTestClock()
				g := newGateway(t, d, clock)
				res, err := g.Tokenize(context.Background(), validInput())
				if err != nil {
					t.Fatal(err)
				}
				clock.Advance(tt.after)
				if _, err := g.SaveCard(context.Background(), res.Token); !errors.Is(err, tt.wantErr) {
					t.Errorf("SaveCard after %v: error %v, want %v", tt.after, err, tt.wantErr)
				}
			})
		}
	})
}

func TestVaultSurvivesRestart(t *testing.T) {
	eachDB(t, func(t *testing.T, d testDB) {
		ctx := context.Background()
		clock := newTestClock()
		g1 := newGateway(t, d, clock)
		first, err := g1.Tokenize(ctx, validInput())
		if err != nil {
			t.Fatal(err)
		}
		saved, err := g1.SaveCard(ctx, first.Token)
		if err != nil {
			t.Fatal(err)
		}
		pending, err := g1.Tokenize(ctx, validInput())
		if err != nil {
			t.Fatal(err)
		}
		g1.db.Close()

		g2 := newGateway(t, d, clock) // a new process: new handle, tables already there
		got, behavior, err := g2.storedCard(ctx, saved.Token)
		if err != nil {
			t.Fatalf("stored card lost across restart: %v", err)
		}
		if got != saved || behavior != "approve" {
			t.Errorf("after restart got %+v (%s), want %+v (approve)", got, behavior, saved)
		}
		if _, err := g2.SaveCard(ctx, pending.Token); err != nil {
			t.Errorf("payment token minted before restart: %v", err)
		}
		if _, err := g2.SaveCard(ctx, first.Token); !errors.Is(err, gateway.ErrInvalidToken) {
			t.Errorf("used token after restart: %v, want ErrInvalidToken", err)
		}
	})
}

func TestDeleteCard(t *testing.T) {
	eachDB(t, func(t *testing.T, d testDB) {
		ctx := context.Background()
		g := newGateway(t, d, newTestClock())
		keep := mustSaveCard(t, g, validInput())
		gone := mustSaveCard(t, g, validInput())
		if err := g.DeleteCard(ctx, gone.Token); err != nil {
			t.Fatal(err)
		}
		if _, _, err := g.storedCard(ctx, gone.Token); !errors.Is(err, gateway.ErrInvalidToken) {
			t.Errorf("deleted card still found: %v", err)
		}
		if _, _, err := g.storedCard(ctx, keep.Token); err != nil {
			t.Errorf("other card lost: %v", err)
		}
		for _, token := range []string{gone.Token, "sbct_unknown", ""} {
			if err := g.DeleteCard(ctx, token); err != nil {
				t.Errorf("DeleteCard(%q) = %v, want nil", token, err)
			}
		}
	})
}

func TestChargeBehaviorRecorded(t *testing.T) {
	eachDB(t, func(t *testing.T, d testDB) {
		g := newGateway(t, d, newTestClock())
		for _, tt := range []struct{ number, want string }{
			{"4000 0000 0000 0341", "card_declined"},
			{"4242 4242 4242 4242", "approve"},
			{withLuhn("41", 16), "approve"},
		} {
			in := validInput()
			in.Number = tt.number
			card := mustSaveCard(t, g, in)
			if _, got, err := g.storedCard(context.Background(), card.Token); err != nil || got != tt.want {
				t.Errorf("%s: charge behavior %q, %v; want %q", tt.number, got, err, tt.want)
			}
		}
	})
}

func TestNoCardDataAtRest(t *testing.T) {
	eachDB(t, func(t *testing.T, d testDB) {
		g := newGateway(t, d, newTestClock())
		in := CardInput{Number: "4111 1111 1111 1111", ExpMonth: 10, ExpYear: 2031, CVC: "999", PostalCode: "12345", Name: "Jane Doe"}
		saved := mustSaveCard(t, g, in)
		pending, err := g.Tokenize(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}

		if _, err := g.Charge(context.Background(), gateway.ChargeRequest{CardToken: saved.Token, AmountCents: 1250, Currency: "USD", IdempotencyKey: "k-1", Reference: "INV"}); err != nil {
			t.Fatal(err)
		}
		hexHash := regexp.MustCompile(`^[0-9a-f]{64}$`)
		tables := sandboxTables(t, g.db, d.dialect)
		if len(tables) != 3 {
			t.Fatalf("sandbox tables = %v, want 3", tables)
		}
		values := 0
		for _, table := range tables {
			for _, row := range dumpTable(t, g.db, table) {
				for col, v := range row {
					values++
					for _, secret := range []string{"4111111111111111", "4111 1111 1111 1111", saved.Token, pending.Token} {
						if strings.Contains(v, secret) {
							t.Errorf("%s.%s holds a secret: %q", table, col, v)
						}
					}
					// A random hex hash may contain "999" by chance; nothing else may.
					if v == "999" || (!hexHash.MatchString(v) && strings.Contains(v, "999")) {
						t.Errorf("%s.%s holds the CVC: %q", table, col, v)
					}
				}
			}
		}
		if values == 0 {
			t.Fatal("scanned no values")
		}
	})
}

func TestSaveCardConcurrentSingleUse(t *testing.T) {
	eachDB(t, func(t *testing.T, d testDB) {
		g := newGateway(t, d, newTestClock())
		res, err := g.Tokenize(context.Background(), validInput())
		if err != nil {
			t.Fatal(err)
		}
		const n = 20
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				_, errs[i] = g.SaveCard(context.Background(), res.Token)
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, gateway.ErrInvalidToken):
				t.Errorf("SaveCard: %v, want success or ErrInvalidToken", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d of %d concurrent SaveCard calls succeeded, want 1", ok, n)
		}
		if got := countRows(t, g.db, "sandbox_cards"); got != 1 {
			t.Errorf("vault holds %d cards, want 1", got)
		}
	})
}

func mustSaveCard(t *testing.T, g *Gateway, in CardInput) gateway.Card {
	t.Helper()
	res, err := g.Tokenize(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	card, err := g.SaveCard(context.Background(), res.Token)
	if err != nil {
		t.Fatal(err)
	}
	return card
}

func countRows(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// sandboxTables lists the sandbox_ tables in the test's database or schema.
func sandboxTables(t *testing.T, db *sql.DB, dialect string) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'sandbox\_%' ESCAPE '\' ORDER BY name`
	if dialect == "postgres" {
		q = `SELECT table_name FROM information_schema.tables
		     WHERE table_schema = current_schema() AND table_name LIKE 'sandbox\_%' ESCAPE '\' ORDER BY table_name`
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return tables
}

// dumpTable returns every row of table as column → value rendered as text.
func dumpTable(t *testing.T, db *sql.DB, table string) []map[string]string {
	t.Helper()
	rows, err := db.Query("SELECT * FROM " + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make(map[string]string, len(cols))
		for i, c := range cols {
			if b, ok := vals[i].([]byte); ok {
				row[c] = string(b)
			} else if vals[i] != nil {
				row[c] = fmt.Sprint(vals[i])
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
